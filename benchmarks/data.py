"""Benchmark data: users and notes written by PostgreSQL itself (``generate_series``), so
that a million notes take about a minute instead of an hour of ORM round trips."""

import random
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rq import Queue

from notes import delivery
from notes.models import Note, content_hash

BENCH_USER = "bench"
# In 0.1% of the notes (all of them the bench user's): a selective search.
RARE_WORD = "quasar"
# In 10% of every owner's notes: a search that matches a lot.
COMMON_WORD = "lantern"
BATCH = 2000
# Rows per INSERT ... SELECT generate_series: one statement, one transaction each.
SQL_BATCH = 50_000

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


# Column expressions of a seeded note, as SQL over the series number ``i`` and ``txt``
# (the note's content, computed once per row). Every fifth note is the bench user's
# (%(main)s); the rest go round the other owners. 1% are FAILED, the rest COMPLETED.
_WORD = "(%(words)s::text[])[1 + ((i * {k} + {c}) %% {n})]"
_CONTENT = (
    "concat_ws(' ', "
    + ", ".join(_WORD.format(k=k, c=c, n=len(WORDS)) for k, c in [(7, 1), (11, 3), (13, 5)])
    + ", 'item', i::text, "
    + ", ".join(_WORD.format(k=k, c=c, n=len(WORDS)) for k, c in [(17, 2), (19, 4), (23, 6)])
    + ", CASE WHEN (i / 5) %% 10 = 1 THEN %(common)s END"
    + ", CASE WHEN i %% 5 = 0 AND (i / 5) %% 1000 = 3 THEN %(rare)s END"
    + ", 'and', " + ", ".join(_WORD.format(k=k, c=c, n=len(WORDS)) for k, c in [(29, 7), (31, 8)])
    + ")"
)  # fmt: skip
_FAILED = "i %% 5 = 1 AND (i / 5) %% 20 = 10"
_COLUMNS = {
    "owner_id": "CASE WHEN i %% 5 = 0 THEN %(main)s "
    "ELSE (%(others)s::bigint[])[1 + (i %% cardinality(%(others)s::bigint[]))] END",
    "title": "''",
    "content": "txt",
    "content_hash": "digest",
    "processing_status": f"CASE WHEN {_FAILED} THEN 'failed' ELSE 'completed' END",
    "status_changed_at": "%(now)s - make_interval(secs => %(total)s - i)",
    "status_detail": "''",
    "last_error": f"CASE WHEN {_FAILED} THEN 'Provider answered 503' ELSE '' END",
    "enrichment_data": f"CASE WHEN {_FAILED} THEN NULL ELSE jsonb_build_object("
    "'title', left(txt, 60), 'summary', left(txt, 200), "
    "'tags', jsonb_build_array((%(words)s::text[])[1 + i %% 7], (%(words)s::text[])[8 + i %% 9]), "
    "'action_items', jsonb_build_array('item ' || i), 'language', 'en', 'schema_version', 1, "
    "'backend', 'local', 'model', '', 'word_count', 12, 'reading_time_minutes', 1) END",
    "enriched_hash": f"CASE WHEN {_FAILED} THEN '' ELSE digest END",
    "processed_at": f"CASE WHEN {_FAILED} THEN NULL ELSE %(now)s END",
    "job_id": "''",
    "created_at": "%(now)s - make_interval(secs => %(total)s - i)",
    "updated_at": "%(now)s - make_interval(secs => %(total)s - i)",
}


def _insert_sql() -> tuple[str, dict]:
    """The INSERT ... SELECT for a range of series numbers, and its fixed parameters.

    Columns this module does not name (added by later migrations) get the model field's
    default, so the seeding keeps working as the model grows.
    """
    names, values, params = [], [], {}
    for field in Note._meta.concrete_fields:
        if field.primary_key or field.column == "search_vector":
            continue
        names.append(f'"{field.column}"')
        if field.column in _COLUMNS:
            values.append(_COLUMNS[field.column])
        else:
            key = f"default_{field.column}"
            params[key] = field.get_db_prep_save(field.get_default(), connection)
            values.append(f"%({key})s")
    # Only column names of the model and this module's own expressions: no input.
    sql = (
        f"INSERT INTO notes_note ({', '.join(names)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM generate_series(%(first)s, %(last)s) AS i, "
        f"LATERAL (SELECT {_CONTENT} AS txt) AS content, "
        "LATERAL (SELECT encode(sha256(convert_to(txt, 'UTF8')), 'hex') AS digest) AS hashed"
    )
    return sql, params


def seed_completed(total: int, *, main_user, others: list[int], progress=None) -> int:
    """Add notes until there are ``total`` (1% FAILED, the rest COMPLETED and enriched; the
    search trigger fills the search document as for any insert). Returns how many."""
    have = Note.objects.count()
    if have >= total:
        return 0
    sql, params = _insert_sql()
    params.update(
        words=WORDS,
        common=COMMON_WORD,
        rare=RARE_WORD,
        main=main_user.pk,
        others=others or [main_user.pk],
        now=timezone.now(),
        total=total,
    )
    # A large load builds the secondary indexes once at the end, as pg_restore does:
    # much faster than updating them row by row (the GIN search index above all).
    with _indexes_dropped(total - have > 50_000):
        for first in range(have, total, SQL_BATCH):
            last = min(first + SQL_BATCH, total) - 1
            with connection.cursor() as cursor:
                cursor.execute(sql, {**params, "first": first, "last": last})
            if progress:
                progress(last + 1)
    # Fresh statistics, as autovacuum would have by the time a table reaches this size.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE notes_note")
    return total - have


@contextmanager
def _indexes_dropped(drop: bool):
    if not drop:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'notes_note' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        definitions = cursor.fetchall()
        for name, _ in definitions:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _, definition in definitions:
                cursor.execute(definition)


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
        delivery.dispatch_many(pairs[start : start + BATCH], bulk=False)
    return [job_id for _, job_id in pairs]


def enqueue_noop_jobs(count: int, func: str = "benchmarks.jobs.noop") -> list[str]:
    """The raw RQ baseline: ``count`` jobs that do nothing (or only wait, with
    ``benchmarks.jobs.sleep``) with the very options of a note job."""
    queue = delivery.get_queue()
    ids = []
    for start in range(0, count, BATCH):
        jobs = []
        for i in range(start, min(start + BATCH, count)):
            job_id = f"noop-{i}-{random.getrandbits(48):012x}"
            jobs.append(Queue.prepare_data(func, args=(i,), **delivery.job_options(i, job_id)))
            ids.append(job_id)
        with queue.connection.pipeline() as pipe:
            queue.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
    return ids


def mark_all(status: str) -> int:
    """Put every note in ``status`` with no job (one UPDATE): resets between rows.

    Then fresh statistics: no real use flips every note's status at once, and the
    planner would otherwise plan the next row's queries for the table as it was (by then
    autovacuum would have analyzed it)."""
    count = Note.objects.update(
        processing_status=status, job_id="", processing_token=None, retry_at=None
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notes_note")
    return count


def count_by_status() -> dict[str, int]:
    from django.db.models import Count

    return dict(Note.objects.values_list("processing_status").annotate(n=Count("pk")).order_by())
