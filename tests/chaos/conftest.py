import pytest

from notes import services
from tests.factories import make_user
from tests.support.chaos import Cluster, queue_settings


@pytest.fixture
def make_cluster(redis_conn, settings):
    """Build a :class:`Cluster` (private Redis, worker env knobs); this test process then
    enqueues on its private Redis too. Everything is stopped after the test."""
    clusters = []
    live_queues = settings.RQ_QUEUES

    def make(**env):
        cluster = Cluster(redis_conn, **env)
        clusters.append(cluster)
        settings.RQ_QUEUES = queue_settings(cluster.redis.url, live_queues)
        return cluster

    yield make
    for cluster in clusters:
        cluster.close()


@pytest.fixture
def make_notes(db):
    """Create ``n`` notes through the service (each queued and enqueued after commit)."""

    def make(n, prefix="Plan"):
        owner = make_user()
        return [
            services.create_note(
                owner=owner,
                content=f"{prefix} item {i}: check the launch plan. Write the announcement {i}.",
            ).pk
            for i in range(n)
        ]

    return make
