"""/metrics: access control, RQ's and the application's figures, bounded work."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from enrichment.models import EnrichmentRun, RunOutcome
from notes import services
from notes.status import ProcessingStatus
from tests.factories import make_note, make_run, make_user

S = ProcessingStatus
pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def scrape(client, settings):
    settings.HEALTH_TOKEN = TOKEN

    def get():
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return samples(response.content.decode())

    return get


def samples(text: str) -> dict:
    """{(sample name, frozenset of labels): value} from the Prometheus text format."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(parsed, metric, **labels):
    return parsed[(metric, frozenset(labels.items()))]


def test_anonymous_and_plain_users_are_refused(client, user, settings):
    settings.HEALTH_TOKEN = TOKEN
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"notesite_" not in response.content
    client.force_login(user)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_staff_sessions_may_scrape(client, staff_user, redis_conn):
    client.force_login(staff_user)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "notesite_notes" in response.content.decode()


def test_notes_by_status_and_stuck(scrape, redis_conn):
    owner = make_user()
    now = timezone.now()
    make_note(owner, status=S.COMPLETED)
    make_note(owner, status=S.COMPLETED)
    make_note(owner, status=S.ERROR)
    make_note(
        owner,
        status=S.PROCESSING,
        status_changed_at=now - timedelta(seconds=settings.ENRICHMENT_STUCK_AFTER + 5),
    )
    make_note(owner, status=S.QUEUED, retry_at=now + timedelta(minutes=2))

    parsed = scrape()

    assert value(parsed, "notesite_notes", status="completed") == 2
    assert value(parsed, "notesite_notes", status="error") == 1
    assert value(parsed, "notesite_notes", status="failed") == 0
    assert value(parsed, "notesite_notes_stuck") == 1
    assert value(parsed, "notesite_notes_waiting_retry") == 1
    assert value(parsed, "notesite_up", component="database") == 1
    assert value(parsed, "notesite_up", component="redis") == 1


def test_run_history_in_the_window(scrape, redis_conn, settings):
    settings.METRICS_WINDOW = 3600
    note = make_note()
    make_run(note, RunOutcome.COMPLETED, duration_ms=80, tokens=(100, 20), calls=1)
    make_run(note, RunOutcome.COMPLETED, duration_ms=2000, tokens=(300, 40), calls=1)
    make_run(note, RunOutcome.RETRY, duration_ms=400, error_kind="transient", calls=1)
    make_run(note, RunOutcome.FAILED, duration_ms=700, error_kind="permanent", calls=2)
    make_run(note, RunOutcome.ERROR, duration_ms=50, error_kind="unexpected")
    # Outside the window: not counted anywhere.
    make_run(note, RunOutcome.FAILED, duration_ms=10, error_kind="permanent", ago=7200, calls=5)

    parsed = scrape()

    assert value(parsed, "notesite_enrichment_runs", outcome="completed") == 2
    assert value(parsed, "notesite_enrichment_runs", outcome="failed") == 1
    assert value(parsed, "notesite_enrichment_retries") == 1
    assert value(parsed, "notesite_enrichment_failures", error_kind="permanent") == 1
    assert value(parsed, "notesite_enrichment_failures", error_kind="transient") == 1
    assert value(parsed, "notesite_enrichment_failures", error_kind="unexpected") == 1
    assert value(parsed, "notesite_provider_calls", outcome="completed") == 2
    assert value(parsed, "notesite_provider_calls", outcome="failed") == 2
    assert (
        value(parsed, "notesite_enrichment_tokens", outcome="completed", direction="input") == 400
    )
    assert (
        value(parsed, "notesite_enrichment_tokens", outcome="completed", direction="output") == 60
    )
    bucket = "notesite_enrichment_duration_seconds_bucket"
    assert value(parsed, bucket, le="0.1") == 2  # 50 ms and 80 ms
    assert value(parsed, bucket, le="0.5") == 3
    assert value(parsed, bucket, le="1.0") == 4
    assert value(parsed, bucket, le="2.5") == 5
    assert value(parsed, bucket, le="+Inf") == 5
    assert value(parsed, "notesite_enrichment_duration_seconds_gsum") == pytest.approx(3.23)
    assert value(parsed, "notesite_metrics_window_seconds") == 3600


def test_rq_figures_come_from_django_rq(
    scrape, redis_conn, registered_worker, django_capture_on_commit_callbacks
):
    owner = make_user()
    note = make_note(owner, status=S.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        services.create_note(owner=owner, content="One fresh note.")
        services.reprocess_notes([note.pk])

    parsed = scrape()

    assert value(parsed, "rq_jobs", queue="note_enrichment", status="queued") == 1
    # The note and the job that feeds the next batch.
    assert value(parsed, "rq_jobs", queue="note_enrichment_bulk", status="queued") == 2
    workers = [
        dict(labels)
        for metric, labels in parsed
        if metric == "rq_workers" and dict(labels)["name"] == registered_worker.name
    ]
    assert [w["queues"] for w in workers] == ["note_enrichment,note_enrichment_bulk"]


def test_redis_down_still_scrapes_and_says_so(scrape, settings):
    from devservices.redis import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    parsed = scrape()
    assert value(parsed, "notesite_up", component="redis") == 0
    assert not any(name.startswith("rq_") for name, _ in parsed)


def test_the_cost_of_a_scrape_does_not_grow_with_the_data(
    scrape, redis_conn, django_assert_max_num_queries
):
    owner = make_user()
    note = make_note(owner)
    with django_assert_max_num_queries(10) as small:
        scrape()
    EnrichmentRun.objects.bulk_create(
        EnrichmentRun(
            note=note,
            attempt=i,
            backend="local",
            started_at=timezone.now(),
            duration_ms=i,
            outcome=RunOutcome.COMPLETED,
        )
        for i in range(500)
    )
    from enrichment import metrics

    metrics.clear_cache()
    with django_assert_max_num_queries(len(small.captured_queries)):
        parsed = scrape()
    assert value(parsed, "notesite_enrichment_runs", outcome="completed") == 500


def test_scrapes_within_the_cache_period_reuse_the_answer(
    scrape, redis_conn, settings, django_assert_num_queries
):
    settings.METRICS_CACHE_SECONDS = 60
    scrape()
    make_note(status=S.FAILED)
    with django_assert_num_queries(0):
        parsed = scrape()
    assert value(parsed, "notesite_notes", status="failed") == 0
