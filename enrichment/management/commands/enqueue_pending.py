from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from enrichment.reaper import reap


class Command(BaseCommand):
    help = (
        "Deliver every QUEUED note that no job will pick up (after Redis was unreachable, "
        "restarted without persistence, or a job expired). The reaper's run: it also "
        "queues again PROCESSING notes whose worker was lost."
    )

    def handle(self, *args, **options):
        try:
            report = reap()
        except RedisError as exc:
            name = type(exc).__name__
            raise CommandError(f"Redis is unreachable ({name}); nothing was done.") from None
        self.stdout.write(self.style.SUCCESS(f"Reaper: {report}."))
