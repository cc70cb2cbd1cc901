"""Writing notes and moving them through their life. Pages, admin and commands call these.

The rules kept here:

* every status change goes through :func:`transition` (a compare-and-set UPDATE);
* a note is put on the queue only after the transaction that made it QUEUED commits;
* a note that is QUEUED with a job id is already on its way: asking again does nothing.
"""

import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection, transaction
from django.utils import timezone

from enrichment import queue as delivery

from .models import Note, content_hash
from .status import InvalidTransition, ProcessingStatus, is_allowed, sources_for

logger = logging.getLogger("notes.status")

S = ProcessingStatus


def transition(note_id, target, *, source=None, token=None, match=None, **fields) -> bool:
    """Move one note to ``target`` if, and only if, it is in ``source`` right now.

    ``source`` is a status or a collection of statuses (default: every status the table
    allows to reach ``target``). ``token``, when given, must match the note's processing
    token: that is the fence that stops a late or duplicate attempt from overwriting a
    newer one. ``match`` adds further conditions (e.g. the job id the note waits for).
    Extra ``fields`` are written in the same UPDATE.

    Raises :class:`InvalidTransition` (and changes nothing) if the table forbids any of
    the named source statuses from reaching ``target``. Returns True if the note moved,
    False if it was not in a source status (someone else won the race) or is gone.
    """
    if source is None:
        sources = sorted(sources_for(target))
    elif isinstance(source, str):
        sources = [source]
    else:
        sources = list(source)
    for src in sources:
        if not is_allowed(src, target):
            raise InvalidTransition(src, target)
    fields.setdefault("status_detail", "")
    now = timezone.now()
    # One conditional UPDATE per source status, so that the log names the real old status.
    for src in sources:
        qs = Note.objects.filter(pk=note_id, processing_status=src)
        if token is not None:
            qs = qs.filter(processing_token=token)
        if match:
            qs = qs.filter(**match)
        if qs.update(processing_status=target, status_changed_at=now, **fields):
            log_transition(note_id, src, target)
            return True
    return False


def log_transition(note_id, source, target) -> None:
    """The log line of every status change (also written by the pipeline's single-statement
    claim and store in :mod:`enrichment.statements`)."""
    logger.info(
        "Note %s: %s -> %s",
        note_id,
        source,
        target,
        extra={"note_id": note_id, "old_status": str(source), "new_status": str(target)},
    )


def _requeue_fields(job_id: str) -> dict:
    return {
        "job_id": job_id,
        "processing_token": None,
        "attempts": 0,
        "reap_count": 0,
        "retry_at": None,
        "last_error": "",
    }


def deliver(note_id: int, job_id: str, *, bulk: bool = False, delay: float | None = None) -> bool:
    """Put the job of a note QUEUED under ``job_id`` on the queue. If Redis refuses it, the
    job id is forgotten (while the note is still QUEUED under it), so that enqueue_pending
    or the reaper delivers the note later. Returns True if the job reached Redis."""
    if delivery.dispatch(note_id, job_id, bulk=bulk, delay=delay):
        return True
    Note.objects.filter(pk=note_id, processing_status=S.QUEUED, job_id=job_id).update(job_id="")
    return False


def _dispatch_on_commit(note_id: int, job_id: str, *, bulk: bool = False) -> None:
    transaction.on_commit(lambda: deliver(note_id, job_id, bulk=bulk))


def create_note(*, owner, content: str, title: str = "") -> Note:
    """Save a new note as QUEUED and enqueue its enrichment after commit."""
    with transaction.atomic():
        note = Note.objects.create(
            owner=owner,
            title=title,
            content=content,
            content_hash=content_hash(content),
            processing_status=S.QUEUED,
        )
        job_id = delivery.new_job_id(note.pk)
        Note.objects.filter(pk=note.pk).update(job_id=job_id)
        note.job_id = job_id
        logger.info("Note %s created as queued", note.pk, extra={"note_id": note.pk})
        _dispatch_on_commit(note.pk, job_id)
    return note


def update_note(note: Note, *, content: str | None = None, title: str | None = None) -> bool:
    """Save a person's edits. Returns True if the content changed and enrichment was requested.

    Saving without a content change does not enqueue. A content change while the note is
    QUEUED needs nothing more (the waiting job reads the latest content); while it is
    PROCESSING the running attempt is fenced off and the note goes back to QUEUED; once
    finished, the note is queued again.
    """
    fields = {}
    if title is not None and title != note.title:
        fields["title"] = title
    new_hash = content_hash(content) if content is not None else note.content_hash
    content_changed = content is not None and new_hash != note.content_hash
    if content_changed:
        fields["content"] = content
        fields["content_hash"] = new_hash
    if not fields:
        return False
    with transaction.atomic():
        fields["updated_at"] = timezone.now()
        Note.objects.filter(pk=note.pk).update(**fields)
        for name, value in fields.items():
            setattr(note, name, value)
        if content_changed:
            _request(note.pk, sources=(S.PROCESSING, *S.terminal()), reason="content changed")
    note.refresh_from_db(fields=["processing_status", "job_id", "status_changed_at"])
    return content_changed


def _request(
    note_id: int, *, sources, reason: str, bulk: bool = False, ignore_cache: bool = False
) -> bool:
    job_id = delivery.new_job_id(note_id)
    fields = _requeue_fields(job_id)
    if ignore_cache:
        fields["ignore_cache"] = True
    if transition(note_id, S.QUEUED, source=sources, **fields):
        logger.info("Note %s requeued: %s", note_id, reason, extra={"note_id": note_id})
        _dispatch_on_commit(note_id, job_id, bulk=bulk)
        return True
    return False


def reprocess_note(note_id: int, *, bulk: bool = False, ignore_cache: bool = False) -> bool:
    """Queue a finished note again. Returns False if it is queued or processing already.

    With ``ignore_cache`` the provider is called even if a stored result for the same
    content, model and prompt version could be reused.
    """
    with transaction.atomic():
        return _request(
            note_id,
            sources=S.terminal(),
            reason="reprocess requested" + (", ignoring cache" if ignore_cache else ""),
            bulk=bulk,
            ignore_cache=ignore_cache,
        )


def reprocess_notes(
    note_ids: Iterable[int],
    *,
    bulk: bool = True,
    chunk_size: int = 5000,
    ignore_cache: bool = False,
) -> int:
    """Queue many finished notes again, in chunks, with one pipelined enqueue per chunk.

    Notes that are queued or processing are left alone. Returns how many were queued.
    Memory stays bounded whatever the number of ids. On PostgreSQL each chunk costs one
    SQL statement and one Redis round trip, and a chunk is enqueued while the next one
    is written to the database (docs/performance.md). ``ignore_cache`` as for
    :func:`reprocess_note`.
    """
    total = 0
    chunk: list[int] = []
    with _ChunkDelivery(bulk=bulk) as courier:
        for note_id in note_ids:
            chunk.append(note_id)
            if len(chunk) >= chunk_size:
                total += _reprocess_chunk(chunk, courier=courier, ignore_cache=ignore_cache)
                chunk = []
        if chunk:
            total += _reprocess_chunk(chunk, courier=courier, ignore_cache=ignore_cache)
    return total


class _ChunkDelivery:
    """Enqueues committed chunks in a background thread while the next chunk's SQL runs.

    A bulk requeue waits seconds for PostgreSQL and spends seconds of its own CPU on the
    Redis enqueue: one after the other they add up, side by side the longer one sets the
    pace (the enqueue runs while this thread waits for the database). The rules stay:
    a chunk is handed over only once its transaction has committed; at most one chunk is
    in flight, so memory stays bounded; and a failed enqueue is settled here, in the
    caller's thread, which owns the database connection (the chunk's job ids are
    forgotten, so enqueue_pending delivers those notes later).

    Inside a transaction of the caller's, every chunk commits only with it, after this
    has returned: then each chunk is enqueued in the caller's thread when it commits.
    """

    def __init__(self, *, bulk: bool):
        self.bulk = bulk
        self.executor = None
        if not connection.in_atomic_block:
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-enqueue")
        self.in_flight = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.wait()
        finally:
            if self.executor is not None:
                self.executor.shutdown()
                self.executor = None

    def send(self, pairs: list[tuple[int, str]], batch: str) -> None:
        """Enqueue a committed chunk's (note id, job id) pairs."""
        if self.executor is None:
            self._settle(delivery.dispatch_many(pairs, bulk=self.bulk), pairs, batch)
            return
        self.wait()
        future = self.executor.submit(delivery.dispatch_many, pairs, bulk=self.bulk)
        self.in_flight = (future, pairs, batch)

    def wait(self) -> None:
        if self.in_flight is not None:
            future, pairs, batch = self.in_flight
            self.in_flight = None
            self._settle(future.result(), pairs, batch)

    @staticmethod
    def _settle(delivered: int, pairs: list[tuple[int, str]], batch: str) -> None:
        if not delivered:
            # Forget the job ids that never reached Redis, so enqueue_pending finds them.
            Note.objects.filter(
                pk__in=[pk for pk, _ in pairs],
                processing_status=S.QUEUED,
                job_id__endswith=f"-{batch}",
            ).update(job_id="")


def _reprocess_chunk(ids: list[int], *, courier: _ChunkDelivery, ignore_cache: bool = False) -> int:
    # One random suffix per chunk: each note still gets a job id of its own
    # (note-<id>-<suffix>, the format of delivery.new_job_id) that no earlier request used.
    batch = uuid.uuid4().hex[:16]
    with transaction.atomic():
        rows = _requeue_finished(ids, batch=batch, ignore_cache=ignore_cache)
        if not rows:
            return 0
        for src, count in sorted(Counter(status for _, status in rows).items()):
            logger.info(
                "%d notes: %s -> %s (bulk reprocess)",
                count,
                src,
                S.QUEUED,
                # One line per old status and chunk, naming every note it moved.
                extra={
                    "old_status": str(src),
                    "new_status": str(S.QUEUED),
                    "count": count,
                    "note_ids": [pk for pk, status in rows if status == src],
                },
            )
        pairs = [(pk, f"note-{pk}-{batch}") for pk, _ in rows]
        transaction.on_commit(lambda: courier.send(pairs, batch))
    return len(rows)


def _bulk_requeue_fields(*, ignore_cache: bool) -> dict:
    """What a bulk requeue writes besides the job id: the same as :func:`_request`."""
    fields = {
        "processing_status": S.QUEUED,
        "status_changed_at": timezone.now(),
        "status_detail": "",
        **_requeue_fields(job_id=""),
    }
    del fields["job_id"]
    if ignore_cache:
        fields["ignore_cache"] = True
    return fields


def _requeue_finished(ids: list[int], *, batch: str, ignore_cache: bool) -> list[tuple[int, str]]:
    """Move the finished notes among ``ids`` to QUEUED with job id ``note-<id>-<batch>``.

    Returns (id, old status) for each note moved; the others are left alone. Must run
    inside a transaction: the rows stay locked until it ends.
    """
    return _requeue_finished_postgresql(ids, batch=batch, ignore_cache=ignore_cache)


def _requeue_finished_postgresql(
    ids: list[int], *, batch: str, ignore_cache: bool
) -> list[tuple[int, str]]:
    """:func:`_requeue_finished` in one statement and one round trip.

    The CTE locks the chunk's finished notes (in id order, so that two bulk requeues
    over the same notes cannot deadlock); the UPDATE moves exactly those rows and
    returns each one's old status, read under the lock. The ids travel as one array
    parameter: an ``IN`` list of thousands of parameters costs more to build, send and
    plan than the work it asks for.

    The status test is written ``processing_status || ''`` on purpose, so that it cannot
    be served by ``note_status_age_idx``. Right after a large status change (which is
    when people requeue in bulk) PostgreSQL's statistics may still say that no note is
    finished; the planner then reads every finished note through that index for each
    chunk and keeps the chunk's ids as a filter: 1.7 s instead of 15 ms per 5,000 notes
    (docs/performance.md). With this form the chunk is always found by primary key.
    """
    table = connection.ops.quote_name(Note._meta.db_table)
    fields = _bulk_requeue_fields(ignore_cache=ignore_cache)
    assignments, params = [], []
    for name, value in fields.items():
        field = Note._meta.get_field(name)
        assignments.append(f"{connection.ops.quote_name(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    sql = f"""
        WITH old AS (
            SELECT id, processing_status FROM {table}
            WHERE id = ANY(%s) AND processing_status || '' = ANY(%s)
            ORDER BY id
            FOR UPDATE
        )
        UPDATE {table} AS n
        SET {", ".join(assignments)}, job_id = 'note-' || n.id || %s
        FROM old
        WHERE n.id = old.id
        RETURNING n.id, old.processing_status
    """  # noqa: S608 (names come from the model, every value is a parameter)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [[int(pk) for pk in ids], sorted(S.terminal()), *params, f"-{batch}"],
        )
        return cursor.fetchall()


def enqueue_pending(*, check_redis: bool = True, chunk_size: int = 1000) -> int:
    """Deliver every QUEUED note that has no job on the queue. Returns how many.

    Finds QUEUED notes without a job id (the enqueue failed) and, with ``check_redis``,
    QUEUED notes whose job no longer exists in Redis (Redis restarted without
    persistence, the job expired). Each gets a new job id through a compare-and-set, so
    running this from several places at once never produces two runs.
    """
    delivered = 0
    now = timezone.now()
    queued = (
        Note.objects.filter(processing_status=S.QUEUED)
        .exclude(retry_at__gt=now)
        .values_list("pk", "job_id")
        .order_by("pk")
    )
    batch: list[tuple[int, str]] = []

    def flush(rows):
        missing = rows
        if check_redis:
            alive = delivery.existing_job_ids([job for _, job in rows if job])
            missing = [(pk, job) for pk, job in rows if not job or job not in alive]
        count = 0
        for pk, old_job in missing:
            job_id = delivery.new_job_id(pk)
            if Note.objects.filter(pk=pk, processing_status=S.QUEUED, job_id=old_job).update(
                job_id=job_id
            ):
                count += deliver(pk, job_id)
        return count

    for row in queued.iterator(chunk_size=chunk_size):
        if not check_redis and row[1]:
            continue
        batch.append(row)
        if len(batch) >= chunk_size:
            delivered += flush(batch)
            batch = []
    if batch:
        delivered += flush(batch)
    return delivered
