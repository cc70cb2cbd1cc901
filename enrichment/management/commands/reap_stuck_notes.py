from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from enrichment.reaper import reap


class Command(BaseCommand):
    help = (
        "Queue again every note that nothing works on: PROCESSING notes whose worker or job "
        "was lost, QUEUED notes whose job is missing. Safe to run from several places at "
        "once; `manage.py rqcron enrichment.cron` runs it every ENRICHMENT_REAPER_INTERVAL s."
    )

    def handle(self, *args, **options):
        try:
            report = reap()
        except RedisError as exc:
            name = type(exc).__name__
            raise CommandError(f"Redis is unreachable ({name}); nothing was done.") from None
        for reason in report.reasons:
            self.stdout.write(reason)
        self.stdout.write(self.style.SUCCESS(f"Reaper: {report}."))
