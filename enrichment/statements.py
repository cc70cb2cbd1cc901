"""The pipeline's two hot writes as single PostgreSQL statements.

A successful attempt used to take five statements, each its own transaction: the claim,
the read of the content, the run-history insert, the fenced store and the closing of the
run. On PostgreSQL the first three are one statement and the last two another
(data-modifying ``WITH`` queries), so an attempt costs two round trips and two commits.
The conditions are exactly those of :func:`notes.services.transition` (status, token,
job id): the fence is the same, only the number of trips changes.

Other databases (SQLite in development) return None from :func:`available` and the
pipeline takes its portable path, statement by statement.
"""

import json
from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.utils import timezone

from notes.models import Note
from notes.status import ProcessingStatus

from .models import EnrichmentRun, RunOutcome

S = ProcessingStatus


def available() -> bool:
    return True


def _cursor():
    """A cursor with server-side parameter binding. psycopg prepares a statement on the
    server once a connection has run it a few times: a worker, which runs these two for
    every note on one connection, then skips parsing and planning them (Django's own
    cursors bind client-side, where nothing can be prepared)."""
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)


class _Columns(dict):
    """A model's quoted column names, by field name: ``_Columns(Note)["job_id"]``; and its
    quoted table name, ``.table``."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.table = connection.ops.quote_name(model._meta.db_table)

    def __missing__(self, name: str) -> str:
        column = connection.ops.quote_name(self.model._meta.get_field(name).column)
        self[name] = column
        return column


@cache
def _claim_sql(with_job_id: bool) -> str:
    n = _Columns(Note)
    r = _Columns(EnrichmentRun)
    job_condition = f" AND {n['job_id']} = %(job_id)s" if with_job_id else ""
    # Only identifiers from the models' metadata, quoted, are interpolated; every value is
    # a query parameter.
    return f"""
        WITH claimed AS (
            UPDATE {n.table}
               SET {n["processing_status"]} = %(processing)s,
                   {n["status_changed_at"]} = %(now)s,
                   {n["status_detail"]} = '',
                   {n["processing_token"]} = %(token)s,
                   {n["attempts"]} = {n["attempts"]} + 1,
                   {n["retry_at"]} = NULL
             WHERE {n["id"]} = %(note_id)s AND {n["processing_status"]} = %(queued)s{job_condition}
         RETURNING {n["id"]}, {n["content"]}, {n["content_hash"]}, {n["attempts"]}
        ), run AS (
            INSERT INTO {r.table} (
                {r["note"]}, {r["attempt"]}, {r["job_id"]}, {r["backend"]}, {r["model"]},
                {r["prompt_version"]}, {r["content_hash"]}, {r["started_at"]},
                {r["input_tokens"]}, {r["output_tokens"]}, {r["provider_calls"]},
                {r["outcome"]}, {r["error_kind"]}, {r["error_message"]}
            )
            SELECT {n["id"]}, {n["attempts"]}, %(run_job_id)s, %(backend)s, '', '',
                   {n["content_hash"]}, %(now)s, 0, 0, 0, %(running)s, '', ''
              FROM claimed
         RETURNING id
        )
        SELECT claimed.{n["content"]}, claimed.{n["content_hash"]}, claimed.{n["attempts"]},
               run.id
          FROM claimed, run
    """  # noqa: S608


@dataclass
class Claimed:
    content: str
    content_hash: str
    attempts: int
    run_id: int


def claim(note_id: int, job_id: str | None, token, backend: str, now=None) -> Claimed | None:
    """QUEUED -> PROCESSING and a RUNNING run-history row, in one statement."""
    params = {
        "note_id": note_id,
        "job_id": job_id,
        "run_job_id": job_id or "",
        "token": token,
        "backend": backend,
        "now": now or timezone.now(),
        "processing": S.PROCESSING.value,
        "queued": S.QUEUED.value,
        "running": RunOutcome.RUNNING.value,
    }
    with _cursor() as cursor:
        cursor.execute(_claim_sql(job_id is not None), params)
        row = cursor.fetchone()
    return Claimed(*row) if row else None


# Run-history fields the store may set besides outcome, finished_at and duration_ms: what
# a result (or a failure that carries usage) tells the run history, on every backend.
RUN_EXTRAS = ("input_tokens", "output_tokens", "provider_calls", "model", "prompt_version")


@cache
def _store_sql(extras: tuple[str, ...]) -> str:
    n = _Columns(Note)
    r = _Columns(EnrichmentRun)
    extra_sets = "".join(f", {r[name]} = %({name})s" for name in extras)
    # As above: quoted identifiers only, values are parameters.
    return f"""
        WITH stored AS (
            UPDATE {n.table}
               SET {n["processing_status"]} = %(completed)s,
                   {n["status_changed_at"]} = %(now)s,
                   {n["status_detail"]} = '',
                   {n["enrichment_data"]} = %(data)s::jsonb,
                   {n["enriched_hash"]} = %(content_hash)s,
                   {n["processed_at"]} = %(now)s,
                   {n["processing_token"]} = NULL,
                   {n["last_error"]} = '',
                   {n["ignore_cache"]} = false
             WHERE {n["id"]} = %(note_id)s
               AND {n["processing_status"]} = %(processing)s
               AND {n["processing_token"]} = %(token)s
         RETURNING {n["id"]}
        ), closed AS (
            UPDATE {r.table}
               SET {r["outcome"]} = CASE WHEN EXISTS (SELECT 1 FROM stored)
                                         THEN %(outcome_completed)s
                                         ELSE %(outcome_superseded)s END,
                   {r["finished_at"]} = %(now)s,
                   {r["duration_ms"]} = %(duration_ms)s{extra_sets}
             WHERE {r["id"]} = %(run_id)s
        )
        SELECT EXISTS (SELECT 1 FROM stored)
    """  # noqa: S608


def store(
    note_id: int,
    token,
    *,
    data: dict,
    content_hash: str,
    run_id: int,
    duration_ms: int,
    run_fields: dict,
    now=None,
) -> bool:
    """PROCESSING -> COMPLETED with the enrichment, fenced by the token, and the run closed
    as completed (or superseded when the fence held), in one statement. True if stored."""
    extras = tuple(name for name in RUN_EXTRAS if run_fields.get(name))
    params = {
        "note_id": note_id,
        "token": token,
        "data": json.dumps(data),
        "content_hash": content_hash,
        "run_id": run_id,
        "duration_ms": duration_ms,
        "now": now or timezone.now(),
        "completed": S.COMPLETED.value,
        "processing": S.PROCESSING.value,
        "outcome_completed": RunOutcome.COMPLETED.value,
        "outcome_superseded": RunOutcome.SUPERSEDED.value,
        **{name: run_fields[name] for name in extras},
    }
    with _cursor() as cursor:
        cursor.execute(_store_sql(extras), params)
        (stored,) = cursor.fetchone()
    return stored
