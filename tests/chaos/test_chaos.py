"""Chaos: real workers, the real reaper, a private real Redis, the test PostgreSQL and the
real openai client against the loopback LLM stub (with a delay),
broken one way at a time while a batch of notes is processed.

Each test ends with the same promises (docs/reliability.md): every note COMPLETED with the
enrichment of its final content (or FAILED with a reason), none stuck, and no content
version sent to the provider more often than the retry policy allows.
"""

import signal
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from enrichment.models import EnrichmentRun, RunOutcome
from enrichment.reaper import reap
from notes import delivery, services
from notes.models import Note
from notes.status import ProcessingStatus
from tests.support.chaos import (
    FAST_SETTINGS,
    assert_every_note_settled_correctly,
    kill_database_connections,
    other_database_connections,
)
from tests.support.workers import wait_until

S = ProcessingStatus
pytestmark = [
    pytest.mark.chaos,
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

MAX_REAPS = settings.ENRICHMENT_MAX_REAPS
MAX_RETRIES = FAST_SETTINGS["ENRICHMENT_MAX_RETRIES"]


def completed(ids) -> int:
    return Note.objects.filter(pk__in=ids, processing_status=S.COMPLETED).count()


def abandoned_runs(ids):
    return EnrichmentRun.objects.filter(note_id__in=ids, outcome=RunOutcome.ABANDONED)


def test_a_workers_sigkilled_mid_call_again_and_again_lose_no_note(make_cluster, make_notes):
    cluster = make_cluster(delay=0.5)
    ids = make_notes(100)
    victim = cluster.start_worker()
    cluster.start_worker()
    cluster.start_cron()
    cluster.wait_for_workers(2, timeout=90)  # a busy machine takes a while to start them

    kills = 0
    for _ in range(3):
        # Mid-call: the note is PROCESSING. The worker runs its job in process, so the
        # call dies with it, as when a container is killed; a new worker takes its place.
        cluster.calling_process(victim, timeout=90).kill()
        victim.wait()
        kills += 1
        victim = cluster.start_worker()

    notes = cluster.wait_settled(ids)
    calls = cluster.calls_by_hash()
    assert_every_note_settled_correctly(notes, calls, max_calls=1 + MAX_REAPS)
    assert all(n.processing_status == S.COMPLETED for n in notes)
    # The killed attempts were found and requeued by the reaper, not silently retried.
    lost = abandoned_runs(ids)
    assert 1 <= lost.count() <= kills  # a kill may land just after the call returned
    assert all("its job is not running" in run.error_message for run in lost)
    # Each lost attempt cost exactly one more provider call; nothing else did.
    assert sum(calls.values()) == len(ids) + lost.count()


@pytest.mark.parametrize("restart_redis", [False, True], ids=["redis-kept", "redis-restarted"])
def test_b_a_worker_sigkilled_mid_call_loses_no_note(make_cluster, make_notes, restart_redis):
    cluster = make_cluster(delay=0.2)
    ids = make_notes(100)
    victim = cluster.start_worker()
    cluster.start_worker()
    cluster.start_cron()

    # Workers up and busy first (slow on a loaded machine); the kill is what is measured.
    wait_until(lambda: completed(ids) >= 5, timeout=120)
    cluster.calling_process(victim)
    victim.kill()  # SIGKILL: no handler, no cleanup, as when a host or container dies
    victim.wait()
    if restart_redis:
        cluster.stop_redis()  # not persistent: every queued job and registry is lost
        time.sleep(1)
        cluster.restart_redis()
    cluster.start_worker()  # the replacement a supervisor starts

    notes = cluster.wait_settled(ids)
    calls = cluster.calls_by_hash()
    # A kill may land as the call returns and its result is stored; then the note is
    # queued again at most once.
    assert_every_note_settled_correctly(notes, calls, max_calls=2)
    assert all(n.processing_status == S.COMPLETED for n in notes)
    assert abandoned_runs(ids).count() <= 1 + (2 if restart_redis else 0)
    assert sum(calls.values()) <= len(ids) + 3


def test_b2_worker_dies_between_taking_a_job_and_starting_it(make_cluster, make_notes):
    cluster = make_cluster(delay=0.1)
    ids = make_notes(20)
    victim = cluster.start_worker("--worker-class=tests.support.faults.DyingNoteWorker")
    assert victim.wait(timeout=30) == -signal.SIGKILL
    # The first note's job left the queue with the victim: it is on no queue or registry
    # and still says "queued". Nothing else would ever run it.
    taken = Note.objects.get(pk=ids[0])
    assert taken.job_id not in delivery.get_queue().job_ids
    cluster.start_worker()
    cluster.start_cron()

    notes = cluster.wait_settled(ids)
    calls = cluster.calls_by_hash()
    assert_every_note_settled_correctly(notes, calls, max_calls=1)
    assert all(n.processing_status == S.COMPLETED for n in notes)
    assert Note.objects.get(pk=ids[0]).job_id != taken.job_id  # delivered again
    assert not abandoned_runs(ids).exists()  # it was never claimed
    assert sum(calls.values()) == len(ids)


def test_c_redis_restarts_empty_under_a_backlog(make_cluster, make_notes):
    cluster = make_cluster(delay=0.1)
    workers = [cluster.start_worker(), cluster.start_worker()]
    cluster.start_cron()
    ids = make_notes(100)
    wait_until(lambda: completed(ids) >= 10, timeout=30)

    cluster.stop_redis()  # not persistent: every queued job is lost
    time.sleep(2)
    cluster.restart_redis()

    notes = cluster.wait_settled(ids)
    assert_every_note_settled_correctly(notes, cluster.calls_by_hash(), max_calls=1)
    assert all(n.processing_status == S.COMPLETED for n in notes)
    # Busy workers whose jobs ended while Redis was away stayed up and did the rest.
    assert all(w.poll() is None for w in workers)


def test_d_database_connections_killed_mid_run(make_cluster, make_notes):
    cluster = make_cluster(delay=0.2)
    workers = [cluster.start_worker(), cluster.start_worker()]
    cluster.start_cron()
    cluster.wait_for_workers(2)
    ids = make_notes(100)

    killed = 0
    for _ in range(4):
        time.sleep(1.5)
        killed += kill_database_connections()
    assert killed > 0

    notes = cluster.wait_settled(ids)
    calls = cluster.calls_by_hash()
    assert_every_note_settled_correctly(notes, calls, max_calls=1 + MAX_REAPS)
    assert all(n.processing_status == S.COMPLETED for n in notes)
    assert all(w.poll() is None for w in workers)
    # A result whose connection died is written on a new connection, not paid again;
    # only a connection killed around the claim costs a second call.
    assert sum(calls.values()) <= len(ids) + 2 * 4
    # Each worker keeps at most its own connection between jobs (none is shared or
    # leaked): the killed ones were replaced, not piled up.
    wait_until(lambda: other_database_connections() <= len(workers), timeout=10)


def test_e_a_third_of_provider_calls_fail_transiently(make_cluster, make_notes):
    cluster = make_cluster(delay=0.02, fail_rate=0.3)
    ids = make_notes(100)
    cluster.start_worker()
    cluster.start_worker()
    cluster.start_cron()

    notes = cluster.wait_settled(ids)
    calls = cluster.calls_by_hash()
    assert_every_note_settled_correctly(notes, calls, max_calls=1 + MAX_RETRIES)
    for note in notes:
        # One provider call per attempt: retries are the only repeated calls.
        assert calls[note.content_hash] == note.attempts
        if note.processing_status == S.FAILED:
            assert note.last_error.startswith(f"Gave up after {MAX_RETRIES} retries")
    assert sum(calls.values()) > len(ids), "some calls failed and were retried"


def test_f_duplicate_deliveries_two_workers_and_reapers_race_on_slow_jobs(make_cluster, make_notes):
    # Each call takes longer than WORKER_LIVENESS_TTL: only heartbeats keep the reapers off.
    cluster = make_cluster(delay=3.5)
    ids = make_notes(12)
    for pk in ids:
        # A double click, a second web server and a stale redelivery, all at once.
        assert services.reprocess_note(pk) is False
        delivery.dispatch(pk, Note.objects.get(pk=pk).job_id)
        delivery.dispatch(pk, delivery.new_job_id(pk))
    cluster.start_worker()
    cluster.start_worker()
    cluster.start_cron()

    stop = threading.Event()
    reaped = []

    def reaper_loop():
        try:
            while not stop.is_set():
                report = reap()
                reaped.append(report.requeued + report.errored)
                time.sleep(0.2)
        finally:
            connection.close()

    racer = threading.Thread(target=reaper_loop)
    racer.start()
    try:
        notes = cluster.wait_settled(ids)
    finally:
        stop.set()
        racer.join()

    calls = cluster.calls_by_hash()
    assert_every_note_settled_correctly(notes, calls, max_calls=1)
    assert all(n.processing_status == S.COMPLETED for n in notes)
    assert len(reaped) > 10 and sum(reaped) == 0
    assert not abandoned_runs(ids).exists()


def test_g_content_edited_while_processing_ends_with_the_final_content(make_cluster, make_notes):
    cluster = make_cluster(delay=0.25)
    ids = make_notes(60)
    cluster.start_worker()
    cluster.start_worker()
    cluster.start_cron()

    edited_while_processing = 0
    pending = set(ids)
    deadline = time.monotonic() + 25
    while pending and time.monotonic() < deadline:
        for note in Note.objects.filter(pk__in=pending, processing_status=S.PROCESSING):
            services.update_note(note, content=note.content + " Edited: ship it on Friday.")
            edited_while_processing += 1
            pending.discard(note.pk)
        time.sleep(0.02)
    for note in Note.objects.filter(pk__in=pending):  # any the workers finished first
        services.update_note(note, content=note.content + " Edited: ship it on Friday.")

    notes = cluster.wait_settled(ids)
    calls = cluster.calls_by_hash()
    assert_every_note_settled_correctly(notes, calls, max_calls=1)
    assert all(n.processing_status == S.COMPLETED for n in notes)
    assert edited_while_processing >= 10
    superseded = EnrichmentRun.objects.filter(note_id__in=ids, outcome=RunOutcome.SUPERSEDED)
    assert superseded.count() >= 1
    # The superseded run enriched the old text; the stored enrichment is of the new one.
    for run in superseded:
        assert run.content_hash != Note.objects.get(pk=run.note_id).enriched_hash


def test_h_notes_saved_while_redis_is_down_are_delivered_when_it_returns(make_cluster, make_notes):
    cluster = make_cluster(delay=0.02)
    workers = [cluster.start_worker(), cluster.start_worker()]
    cluster.start_cron()
    cluster.wait_for_workers(2)
    cluster.stop_redis()

    ids = make_notes(100)  # people keep writing
    assert Note.objects.filter(pk__in=ids, processing_status=S.QUEUED, job_id="").count() == 100

    time.sleep(1)
    cluster.restart_redis()  # nobody runs enqueue_pending by hand

    notes = cluster.wait_settled(ids)
    assert_every_note_settled_correctly(notes, cluster.calls_by_hash(), max_calls=1)
    assert all(n.processing_status == S.COMPLETED for n in notes)
    assert all(w.poll() is None for w in workers)  # idle through the outage, no restart


def test_i_workers_are_listed_again_after_redis_restarts_empty(make_cluster, make_notes):
    # Each call takes longer than WORKER_LIVENESS_TTL: only heartbeats keep the reaper off.
    cluster = make_cluster(delay=6)
    workers = [cluster.start_worker(), cluster.start_worker()]
    cluster.start_cron()
    cluster.wait_for_workers(2)
    (busy_note,) = make_notes(1)
    cluster.calling_worker(workers)  # one worker in a provider call, the other idle

    cluster.stop_redis()
    time.sleep(0.5)
    cluster.restart_redis()
    start = time.monotonic()
    cluster.wait_for_workers(2, timeout=60)
    assert time.monotonic() - start < 60
    assert all(w.poll() is None for w in workers)
    # The slow call in progress was never taken for lost.
    notes = cluster.wait_settled([busy_note])
    assert_every_note_settled_correctly(notes, cluster.calls_by_hash(), max_calls=1)
    assert not abandoned_runs([busy_note]).exists()
    assert all(w.poll() is None for w in workers)


def test_i2_a_worker_whose_job_ends_while_redis_is_down_stays_and_is_listed_again(
    make_cluster, make_notes
):
    cluster = make_cluster(delay=2)
    workers = [cluster.start_worker(), cluster.start_worker()]
    cluster.start_cron()
    cluster.wait_for_workers(2)
    (note,) = make_notes(1)
    cluster.calling_worker(workers)

    cluster.stop_redis()
    # The call ends and its worker finds no Redis to record the job's end.
    wait_until(lambda: Note.objects.get(pk=note).processing_status != S.PROCESSING, timeout=30)
    time.sleep(2)
    assert all(w.poll() is None for w in workers)

    cluster.restart_redis()
    start = time.monotonic()
    cluster.wait_for_workers(2, timeout=60)
    assert time.monotonic() - start < 60
    # The note is settled by the workers that stayed (the reaper delivers it again if the
    # outage cut its attempt short), within the usual limit of provider calls.
    notes = cluster.wait_settled([note])
    assert_every_note_settled_correctly(notes, cluster.calls_by_hash(), max_calls=2)
    assert all(w.poll() is None for w in workers)


def test_i3_at_the_default_clocks_a_busy_worker_is_listed_again_while_still_busy(
    make_cluster, make_notes
):
    # The worker's clocks at their defaults (a busy worker beats every 30 s), and a
    # provider call that outlasts the restart by more than one beat.
    cluster = make_cluster(
        delay=50, WORKER_LIVENESS_TTL=90, QUEUE_JOB_TIMEOUT=120, ENRICHMENT_TIMEOUT=120
    )
    workers = [cluster.start_worker(), cluster.start_worker()]
    cluster.wait_for_workers(2)
    (note,) = make_notes(1)
    cluster.calling_worker(workers)

    cluster.stop_redis()
    time.sleep(0.5)
    cluster.restart_redis()
    start = time.monotonic()
    cluster.wait_for_workers(2, timeout=60)
    assert time.monotonic() - start < 60
    assert Note.objects.get(pk=note).processing_status == S.PROCESSING  # still in its call
    assert all(w.poll() is None for w in workers)
