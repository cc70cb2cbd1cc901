from django.core.management.base import BaseCommand

from notes.services import enqueue_pending


class Command(BaseCommand):
    help = (
        "Enqueue every QUEUED note that has no job waiting in Redis "
        "(after Redis was unreachable, restarted without persistence, or a job expired)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-check-redis",
            action="store_true",
            help="Only enqueue notes that have no job id at all; do not look jobs up in Redis.",
        )

    def handle(self, *args, **options):
        count = enqueue_pending(check_redis=not options["no_check_redis"])
        self.stdout.write(self.style.SUCCESS(f"Enqueued {count} pending note(s)."))
