"""dispatch_many writes, for many notes in one round trip, the jobs dispatch() writes.

Against fakeredis here; tests/integration/test_bulk_enqueue.py runs such jobs on a real
worker with a real Redis.
"""

import logging
import pickle
import zlib

import pytest
from django.conf import settings
from rq import Queue
from rq.job import Job

from enrichment import queue as delivery

BULK = settings.ENRICHMENT_BULK_QUEUE
# Set when the job is created and enqueued: the only fields that differ between two
# jobs for the same note.
TIMESTAMPS = {b"created_at", b"enqueued_at"}


def job_hash(conn, job_id) -> dict:
    fields = conn.hgetall(Job.key_for(job_id))
    assert fields, f"no hash for {job_id}"
    return fields


def without_timestamps(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if k not in TIMESTAMPS}


def test_a_bulk_job_is_field_for_field_the_job_dispatch_writes(fake_redis):
    assert delivery.dispatch(42, "note-42-aaaaaaaaaaaaaaaa", bulk=True)
    assert delivery.dispatch_many([(42, "note-42-bbbbbbbbbbbbbbbb")], bulk=True) == 1

    single = job_hash(fake_redis, "note-42-aaaaaaaaaaaaaaaa")
    bulk = job_hash(fake_redis, "note-42-bbbbbbbbbbbbbbbb")
    assert without_timestamps(bulk) == without_timestamps(single)
    assert set(bulk) == set(single)
    assert set(bulk) >= TIMESTAMPS
    assert bulk[b"status"] == b"queued"
    assert bulk[b"origin"] == BULK.encode()
    ttl = fake_redis.ttl(Job.key_for("note-42-bbbbbbbbbbbbbbbb"))
    assert settings.QUEUE_JOB_TTL - 5 < ttl <= settings.QUEUE_JOB_TTL
    assert Queue(BULK, connection=fake_redis).job_ids == [
        "note-42-aaaaaaaaaaaaaaaa",
        "note-42-bbbbbbbbbbbbbbbb",
    ]
    assert fake_redis.smembers(Queue.redis_queues_keys) == {f"rq:queue:{BULK}".encode()}


def test_each_note_gets_its_own_call_meta_and_description_in_queue_order(fake_redis):
    pairs = [(7, "note-7-x"), (3, "note-3-y"), (12, "note-12-z")]
    assert delivery.dispatch_many(pairs, bulk=True) == 3

    queue = Queue(BULK, connection=fake_redis)
    assert queue.job_ids == ["note-7-x", "note-3-y", "note-12-z"]
    for note_id, job_id in pairs:
        job = queue.fetch_job(job_id)
        assert job.func_name == delivery.JOB_FUNC
        assert job.args == (note_id,)
        assert job.kwargs == {}
        assert job.meta == {"note_id": note_id}
        assert job.description == f"enrich note {note_id}"
        assert (job.timeout, job.ttl) == (settings.QUEUE_JOB_TIMEOUT, settings.QUEUE_JOB_TTL)
        assert (job.result_ttl, job.failure_ttl) == (600, 7 * 24 * 3600)
        assert job.enqueued_at is not None
        fields = job_hash(fake_redis, job_id)
        call = pickle.loads(zlib.decompress(fields[b"data"]))
        assert call == (delivery.JOB_FUNC, None, (note_id,), {})


def test_if_rq_serialised_differently_its_own_enqueue_is_used(fake_redis, monkeypatch):
    delivery.dispatch(5, "note-5-reference", bulk=True)
    calls = []
    real_enqueue_many = Queue.enqueue_many

    def spy(self, *args, **kwargs):
        calls.append(len(args[0]))
        return real_enqueue_many(self, *args, **kwargs)

    monkeypatch.setattr(Queue, "enqueue_many", spy)
    real_varying = delivery._JobWriter._varying

    def drifted(self, note_id, job_id):
        return {**real_varying(self, note_id, job_id), "meta": b"not what RQ writes"}

    monkeypatch.setattr(delivery._JobWriter, "_varying", drifted)

    assert delivery.dispatch_many([(5, "note-5-a"), (6, "note-6-b")], bulk=True) == 2
    assert calls == [2]
    assert without_timestamps(job_hash(fake_redis, "note-5-a")) == without_timestamps(
        job_hash(fake_redis, "note-5-reference")
    )
    queue = Queue(BULK, connection=fake_redis)
    assert queue.job_ids == ["note-5-reference", "note-5-a", "note-6-b"]


def test_redis_down_returns_zero_and_logs_without_raising(fake_redis, caplog):
    fake_redis.connection_pool.connection_kwargs["server"].connected = False
    with caplog.at_level(logging.ERROR, logger="enrichment.queue"):
        assert delivery.dispatch_many([(1, "note-1-a"), (2, "note-2-b")], bulk=True) == 0
    assert "Could not enqueue 2 notes" in caplog.text


def test_an_error_reply_fails_the_batch_and_leaves_the_connection_usable(fake_redis):
    # The queue's key holding a string makes RPUSH, the last command, answer WRONGTYPE.
    fake_redis.set(f"rq:queue:{BULK}", "not a list")
    assert delivery.dispatch_many([(1, "note-1-a"), (2, "note-2-b")], bulk=True) == 0
    # The unread replies went with the connection: the next command reads its own reply.
    fake_redis.delete(f"rq:queue:{BULK}")
    assert delivery.dispatch_many([(3, "note-3-c")], bulk=True) == 1
    assert Queue(BULK, connection=fake_redis).job_ids == ["note-3-c"]


@pytest.mark.parametrize("bulk, name", [(True, BULK), (False, settings.ENRICHMENT_QUEUE)])
def test_the_queue_follows_the_bulk_flag(fake_redis, bulk, name):
    delivery.dispatch_many([(9, "note-9-a")], bulk=bulk)
    assert Queue(name, connection=fake_redis).job_ids == ["note-9-a"]
    assert job_hash(fake_redis, "note-9-a")[b"origin"] == name.encode()
