"""Benchmark data: users and notes written straight to the database, in batches."""

import random

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rq import Queue

from notes import delivery
from notes.models import Note, content_hash
from notes.status import ProcessingStatus

BENCH_USER = "bench"
SEARCH_WORD = "quasar"  # in about 1% of the notes: a selective search
BATCH = 2000

WORDS = """plan launch write review budget meeting customer email deploy design draft
schedule invoice garden travel book read idea project team weekly report fix release
notes market research call follow update check order renew contract kitchen paint""".split()


def users(count: int):
    """The bench user (staff, owns a fifth of the notes) and ``count - 1`` other owners."""
    User = get_user_model()
    main, _ = User.objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    existing = User.objects.exclude(pk=main.pk).count()
    User.objects.bulk_create(
        [User(username=f"owner{i}") for i in range(existing, count - 1)], batch_size=BATCH
    )
    others = list(User.objects.exclude(pk=main.pk).values_list("pk", flat=True))
    return main, others


def _content(rng: random.Random, index: int) -> str:
    sentences = []
    for _ in range(rng.randint(3, 8)):
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
        sentences.append(sentence.capitalize() + ".")
    if index % 100 == 0:
        sentences.append(f"Look at the {SEARCH_WORD} numbers.")
    sentences.append(f"- [ ] {rng.choice(WORDS)} item {index}")
    return " ".join(sentences)


def seed_completed(total: int, *, main_user, others: list[int]) -> int:
    """Add COMPLETED, enriched notes until there are ``total``; every fifth is the bench
    user's. Returns how many were added."""
    have = Note.objects.count()
    rng = random.Random(have)
    now = timezone.now()
    added = 0
    for start in range(have, total, BATCH):
        rows = []
        for index in range(start, min(start + BATCH, total)):
            text = _content(rng, index)
            digest = content_hash(text)
            rows.append(
                Note(
                    owner_id=main_user.pk if index % 5 == 0 or not others else rng.choice(others),
                    content=text,
                    content_hash=digest,
                    processing_status=ProcessingStatus.COMPLETED,
                    enrichment_data={
                        "title": text[:60],
                        "summary": text[:300],
                        "tags": rng.sample(WORDS, 5),
                        "action_items": [f"item {index}"],
                        "language": "en",
                        "schema_version": 1,
                        "backend": "local",
                        "model": "",
                        "word_count": len(text.split()),
                        "reading_time_minutes": 1,
                    },
                    enriched_hash=digest,
                    processed_at=now,
                )
            )
        Note.objects.bulk_create(rows)
        added += len(rows)
    if added:
        # Fresh statistics, as autovacuum would have by the time a table reaches this size.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE notes_note")
    return added


def queued_notes(count: int, owner) -> list[tuple[int, str]]:
    """``count`` QUEUED notes with job ids, as a save would leave them: (note id, job id)."""
    notes = Note.objects.bulk_create(
        [
            Note(owner=owner, content=text, content_hash=content_hash(text))
            for text in (f"Benchmark note {i}." for i in range(count))
        ],
        batch_size=BATCH,
    )
    pairs = [(note.pk, delivery.new_job_id(note.pk)) for note in notes]
    for start in range(0, len(pairs), BATCH):
        chunk = pairs[start : start + BATCH]
        Note.objects.bulk_update(
            [Note(pk=pk, job_id=job_id) for pk, job_id in chunk], ["job_id"], batch_size=BATCH
        )
    return pairs


def enqueue_pipeline_jobs(pairs: list[tuple[int, str]]) -> list[str]:
    """Put the notes' enrichment jobs on the queue, through the application's own path."""
    for start in range(0, len(pairs), BATCH):
        delivery.dispatch_many(pairs[start : start + BATCH])
    return [job_id for _, job_id in pairs]


def enqueue_noop_jobs(count: int, func: str = "benchmarks.jobs.noop") -> list[str]:
    """The raw RQ baseline: ``count`` jobs that do nothing (or only wait, with
    ``benchmarks.jobs.sleep``) with the very options of a note job."""
    queue = delivery.get_queue()
    ids = []
    for start in range(0, count, BATCH):
        data = []
        for i in range(start, min(start + BATCH, count)):
            job_id = f"noop-{i}-{random.getrandbits(48):012x}"
            # The same options as a real note job (parity).
            options = delivery.job_options(i, job_id)
            data.append(Queue.prepare_data(func, args=(i,), **options))
            ids.append(job_id)
        with queue.connection.pipeline() as pipe:
            queue.enqueue_many(data, pipeline=pipe)
            pipe.execute()
    return ids
