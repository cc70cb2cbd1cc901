"""Writing notes and moving them through their life. Pages, admin, commands and the
enrichment pipeline call these.

The rules kept here:

* every status change goes through :func:`transition` (a compare-and-set UPDATE);
* a note is put on a queue only after the transaction that made it QUEUED commits;
* a note that is QUEUED with a job id is already on its way: asking again does nothing;
* a QUEUED note without a job id waits in the database for :func:`feed`, which delivers
  such notes to the bulk queue at the pace workers drain it, round-robin across owners.
"""

import logging
from collections.abc import Iterable
from itertools import zip_longest

import django_rq
from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from redis.exceptions import RedisError

from . import delivery
from .models import Note, content_hash
from .status import InvalidTransition, ProcessingStatus, is_allowed, sources_for

logger = logging.getLogger("notes.status")

S = ProcessingStatus
# Notes the feeder puts on the bulk queue at a time; the last job of each batch feeds the
# next one, so the queue is topped up as fast as workers drain it and never holds more.
# Small, because a note requested now waits for at most one batch to drain: at 1-30 s per
# note that is a minute or two with one worker, seconds with several.
FEED_BATCH = 20
FEED_FUNC = "enrichment.jobs.feed_job"
REPROCESS_FUNC = "enrichment.jobs.reprocess_job"
# Notes marked QUEUED per UPDATE by a bulk reprocess: each chunk is a transaction of its
# own, so rows stay locked for a fraction of a second and memory stays flat.
REPROCESS_CHUNK = 5000


def transition(note_id, target, *, source=None, token=None, match=None, **fields) -> int:
    """Move a note (or a list of notes, or the notes of a queryset) to ``target`` if, and
    only if, it is in ``source`` right now. The one function that changes a note's status.

    ``source`` is a status or a collection of statuses (default: every status the table
    allows to reach ``target``). ``token``, when given, must match the note's processing
    token: that is the fence that stops a late or duplicate attempt from overwriting a
    newer one. ``match`` adds further conditions (e.g. the job id the note waits for).
    Extra ``fields`` are written in the same UPDATE.

    Raises :class:`InvalidTransition` (and changes nothing) if the table forbids any of
    the named source statuses from reaching ``target``. For one note, returns True if it
    moved, False if it was not in a source status (someone else won the race) or is gone;
    for a list, how many moved.
    """
    if source is None:
        sources = sorted(sources_for(target))
    elif isinstance(source, str):
        sources = [source]
    else:
        sources = sorted(source)
    for src in sources:
        if not is_allowed(src, target):
            raise InvalidTransition(src, target)
    if isinstance(note_id, QuerySet):
        notes = note_id.order_by()
    else:
        notes = Note.objects.filter(pk__in=[note_id] if isinstance(note_id, int) else note_id)
    fields.setdefault("status_detail", "")
    now = timezone.now()
    moved = 0
    # One conditional UPDATE per source status, so that the log names the real old status.
    for src in sources:
        qs = notes.filter(processing_status=src)
        if token is not None:
            qs = qs.filter(processing_token=token)
        if match:
            qs = qs.filter(**match)
        count = qs.update(processing_status=target, status_changed_at=now, **fields)
        if count:
            extra = {"old_status": str(src), "new_status": str(target), "count": count}
            if isinstance(note_id, int):
                logger.info(
                    "Note %s: %s -> %s", note_id, src, target, extra={**extra, "note_id": note_id}
                )
                return True
            logger.info("%d notes: %s -> %s", count, src, target, extra=extra)
            moved += count
    return moved if not isinstance(note_id, int) else False


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
    """Put the job of a note QUEUED under ``job_id`` on its queue. If Redis refuses it,
    the job id is forgotten (while the note is still QUEUED under it), so that the feeder
    delivers the note later. Returns True if the job reached Redis."""
    if delivery.dispatch(note_id, job_id, bulk=bulk, delay=delay):
        return True
    Note.objects.filter(pk=note_id, processing_status=S.QUEUED, job_id=job_id).update(job_id="")
    return False


def _deliver_on_commit(note_id: int, job_id: str, *, bulk: bool = False) -> None:
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
        note.job_id = delivery.new_job_id(note.pk)
        Note.objects.filter(pk=note.pk).update(job_id=note.job_id)
        logger.info("Note %s created as queued", note.pk, extra={"note_id": note.pk})
        _deliver_on_commit(note.pk, note.job_id)
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


def _request(note_id: int, *, sources, reason: str, ignore_cache: bool = False) -> bool:
    job_id = delivery.new_job_id(note_id)
    fields = _requeue_fields(job_id)
    if ignore_cache:
        fields["ignore_cache"] = True
    if transition(note_id, S.QUEUED, source=sources, **fields):
        logger.info("Note %s requeued: %s", note_id, reason, extra={"note_id": note_id})
        _deliver_on_commit(note_id, job_id)
        return True
    return False


def reprocess_note(note_id: int, *, ignore_cache: bool = False) -> bool:
    """Queue a finished note again. Returns False if it is queued or processing already.

    With ``ignore_cache`` the provider is called even if a stored result for the same
    content, model and prompt version could be reused.
    """
    with transaction.atomic():
        return _request(
            note_id,
            sources=S.terminal(),
            reason="reprocess requested" + (", ignoring cache" if ignore_cache else ""),
            ignore_cache=ignore_cache,
        )


def reprocess_notes(
    note_ids: Iterable[int], *, chunk_size: int = REPROCESS_CHUNK, ignore_cache: bool = False
) -> int:
    """Queue many finished notes again, given their ids (a page of the admin, a test).
    Returns how many were queued. As :func:`reprocess_selection`."""
    selection = Note.objects.filter(pk__in=list(note_ids))
    return reprocess_selection(selection, chunk_size=chunk_size, ignore_cache=ignore_cache)


def reprocess_selection(
    selection: QuerySet,
    *,
    chunk_size: int = REPROCESS_CHUNK,
    ignore_cache: bool = False,
    progress=None,
) -> int:
    """Queue every finished note of ``selection`` (a queryset of notes) again. Returns how
    many were queued; ``progress``, if given, is called with each chunk's count.

    Database first: the notes are marked QUEUED without a job id and nothing is put on a
    queue here; :func:`feed` delivers them to the bulk queue at the pace workers drain
    it, round-robin across owners, so that a large backlog never sits in Redis and never
    holds up other people's notes. Notes that are queued or processing are left alone.

    The selection is walked in primary-key order by keyset: each chunk ends at the id of
    its ``chunk_size``-th note and is marked with one UPDATE per finished status, inside
    PostgreSQL. No id travels through Python, so a million notes cost as much memory as
    ten, and each chunk commits on its own.
    """
    fields = _requeue_fields(job_id="")
    if ignore_cache:
        fields["ignore_cache"] = True
    ids = selection.order_by("pk").values_list("pk", flat=True)
    total = 0
    last = None
    while True:
        rest = ids if last is None else ids.filter(pk__gt=last)
        bound = next(iter(rest[chunk_size - 1 : chunk_size]), None)
        chunk = selection if last is None else selection.filter(pk__gt=last)
        if bound is not None:
            chunk = chunk.filter(pk__lte=bound)
        moved = transition(chunk, S.QUEUED, source=S.terminal(), **fields)
        total += moved
        if progress:
            progress(moved)
        if bound is None:
            break
        last = bound
    if total > chunk_size:
        _refresh_statistics()
    if total:
        transaction.on_commit(feed)
    return total


def _refresh_statistics() -> None:
    """Tell PostgreSQL's planner that many notes just became QUEUED.

    Its statistics still say almost none are, until autovacuum analyzes the table (a
    minute or more later); meanwhile it reads the feeder's per-owner probe through
    ``note_status_age_idx``, walking every queued note once per person: 11 s per batch at
    100,000 queued notes instead of 4 ms through ``note_waiting_idx``. ANALYZE samples
    a fixed number of rows, a fraction of a second at any size; the ORM has no call for it.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Note._meta.db_table}")


def reprocess_later(selection: QuerySet, *, ignore_cache: bool = False) -> bool:
    """Hand a selection too large for a web request to a job on the maintenance queue,
    which runs :func:`reprocess_selection` on it. Returns False if Redis refused it.

    The job receives the queryset's ``query`` (which pickles, as Django documents), not
    its ids: the selection is read when the job runs, a chunk at a time.
    """
    queue = django_rq.get_queue(settings.ENRICHMENT_MAINTENANCE_QUEUE)
    try:
        queue.enqueue(
            REPROCESS_FUNC,
            selection.query,
            ignore_cache=ignore_cache,
            job_timeout=settings.QUEUE_JOB_TIMEOUT,
            result_ttl=24 * 3600,
            description="reprocess notes selected in the admin",
        )
    except RedisError as exc:
        logger.error("Could not enqueue a bulk reprocess: %s", type(exc).__name__)
        return False
    return True


def reprocess_query(query, *, ignore_cache: bool = False) -> int:
    """The body of the job :func:`reprocess_later` enqueues."""
    selection = Note.objects.all()
    selection.query = query
    return reprocess_selection(selection, ignore_cache=ignore_cache)


def backlog(limit: int) -> list[int]:
    """The ids of up to ``limit`` QUEUED notes waiting for the feeder, round-robin across
    owners: every owner's oldest note first, then every owner's second, and so on, among
    the ``limit`` owners whose oldest waiting note is the oldest.

    The cost does not grow with the backlog: one probe of ``note_waiting_idx`` per person
    and one short range of it per chosen owner, never a pass over every waiting note (a
    million waiting notes took seconds per batch that way).
    """
    waiting = Note.objects.filter(processing_status=S.QUEUED, job_id="").exclude(
        retry_at__gt=timezone.now()
    )
    first = waiting.filter(owner=OuterRef("pk")).order_by("pk").values("pk")[:1]
    User = Note._meta.get_field("owner").related_model
    owners = list(
        User.objects.annotate(first=Subquery(first))
        .filter(first__isnull=False)
        .order_by("first")
        .values_list("pk", flat=True)[:limit]
    )
    if not owners:
        return []
    # Up to ``limit`` notes of each: taken in turns, that is always enough.
    parts = [
        waiting.filter(owner_id=owner).order_by("pk").values_list("owner_id", "pk")[:limit]
        for owner in owners
    ]
    rows = parts[0].union(*parts[1:], all=True).order_by() if len(parts) > 1 else parts[0]
    queues = {owner: [] for owner in owners}
    for owner, pk in rows:
        queues[owner].append(pk)
    turns = zip_longest(*(sorted(ids) for ids in queues.values()))
    return [pk for turn in turns for pk in turn if pk is not None][:limit]


def feed(*, force: bool = False) -> int:
    """Deliver the next batch of waiting notes to the bulk queue. Returns how many.

    Does nothing while the bulk queue still holds a batch, unless ``force`` (the feed job
    at the end of a batch: its batch is drained by then). The batch ends with a feed job,
    so the queue is topped up again when workers reach it; the reaper calls this too, in
    case that chain was broken (Redis restarted, a worker was killed).
    """
    if not force and delivery.get_queue(bulk=True).count >= FEED_BATCH:
        return 0
    with transaction.atomic():
        ranked = backlog(FEED_BATCH)
        # Skip notes another feeder holds: two feeders never deliver the same note.
        locked = set(
            Note.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ranked, processing_status=S.QUEUED, job_id="")
            .values_list("pk", flat=True)
        )
        pairs = [(pk, delivery.new_job_id(pk)) for pk in ranked if pk in locked]
        for pk, job_id in pairs:  # a few dozen rows, already locked
            Note.objects.filter(pk=pk).update(job_id=job_id)
    if not pairs:
        return 0
    if not delivery.dispatch_many(pairs, bulk=True, then=FEED_FUNC):
        Note.objects.filter(
            processing_status=S.QUEUED, job_id__in=[job_id for _, job_id in pairs]
        ).update(job_id="")
        return 0
    logger.info("Fed %d notes to the bulk queue", len(pairs), extra={"count": len(pairs)})
    return len(pairs)
