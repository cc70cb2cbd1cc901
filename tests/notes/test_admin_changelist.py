"""The admin note list stays cheap on a large table: no full counts, no list of every user."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notes import pagination
from notes.admin import OwnerListFilter
from notes.models import Note
from notes.status import ProcessingStatus
from tests.factories import make_note, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db
URL = "/admin/notes/note/"


def changelist_queries(client, path=URL):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return response, [q["sql"] for q in queries.captured_queries]


def test_the_changelist_query_count_does_not_grow_with_the_number_of_notes(client, staff_user):
    client.force_login(staff_user)
    owners = [make_user() for _ in range(3)]
    for i in range(3):
        make_note(owners[i], f"note {i}", status=S.COMPLETED)
    _, few = changelist_queries(client)
    for i in range(40):
        make_note(owners[i % 3], f"more {i}", status=S.COMPLETED)
    _, many = changelist_queries(client)
    assert len(few) == len(many)


def test_the_changelist_does_not_read_note_bodies(client, staff_user):
    client.force_login(staff_user)
    make_note(staff_user, "a long private body", status=S.COMPLETED)
    _, queries = changelist_queries(client)
    rows = [sql for sql in queries if sql.startswith('SELECT "notes_note"."id"')]
    # Only a cut of the body, for the title of an untitled note.
    rows = [re.sub(r'SUBSTR(ING)?\("notes_note"\."content"', "", sql) for sql in rows]
    assert rows and all('"notes_note"."content"' not in sql for sql in rows)


def test_a_large_unfiltered_list_uses_the_table_estimate_instead_of_counting(
    client, staff_user, monkeypatch
):
    monkeypatch.setattr(pagination, "EXACT_LIMIT", 5)
    for i in range(12):
        make_note(staff_user, f"note {i}", status=S.COMPLETED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notes_note")
    client.force_login(staff_user)
    response, queries = changelist_queries(client)
    counts = [sql for sql in queries if "COUNT(*)" in sql]
    # Only the bounded count, in the same statement as the table estimate.
    assert len(counts) == 1 and "LIMIT 6" in counts[0] and "reltuples" in counts[0]
    assert response.content.count(b'name="_selected_action"') == 12


def test_a_filtered_count_is_exact_below_the_limit_and_bounded_above(staff_user, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_LIMIT", 5)
    for i in range(3):
        make_note(staff_user, f"failed {i}", status=S.FAILED)
    for i in range(9):
        make_note(staff_user, f"done {i}", status=S.COMPLETED)
    failed = pagination.LargeTablePaginator(Note.objects.filter(processing_status=S.FAILED), 2)
    assert failed.count == 3
    done = pagination.LargeTablePaginator(Note.objects.filter(processing_status=S.COMPLETED), 2)
    with CaptureQueriesContext(connection) as queries:
        count = done.count
    # Never less than what the bounded count saw, and never a full COUNT(*).
    assert count >= 6
    sql = [q["sql"] for q in queries.captured_queries]
    assert "LIMIT 6" in sql[0] and sql[1].startswith("EXPLAIN")


def test_the_owner_filter_lists_owners_on_a_small_site(client, staff_user):
    make_user("zoe")
    client.force_login(staff_user)
    response, _ = changelist_queries(client)
    assert b'data-filter-title="owner"' in response.content
    assert b"zoe" in response.content


def test_the_owner_filter_is_hidden_once_there_are_too_many_users(client, staff_user, monkeypatch):
    monkeypatch.setattr(OwnerListFilter, "MAX_CHOICES", 2)
    for name in ("zoe", "yann"):
        make_user(name)
    client.force_login(staff_user)
    response, _ = changelist_queries(client)
    assert b'data-filter-title="owner"' not in response.content
    # The status filter is still there.
    assert b'data-filter-title="processing status"' in response.content


def test_search_finds_the_notes_of_an_exact_username(client, staff_user):
    alice, bob = make_user("alice"), make_user("bob")
    make_note(alice, "groceries", title="Alice's list", status=S.COMPLETED)
    make_note(bob, "bobbing along", title="Bob's list", status=S.COMPLETED)
    client.force_login(staff_user)
    response, _ = changelist_queries(client, f"{URL}?q=alice")
    assert b"Alice&#x27;s list" in response.content
    assert b"Bob&#x27;s list" not in response.content
