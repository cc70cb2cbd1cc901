"""Queue notes for enrichment again, in bulk, with a progress bar.

    python manage.py reprocess_notes --status failed,error
    python manage.py reprocess_notes --all --dry-run
    python manage.py reprocess_notes --ids 4,8,15

The selection goes to ``notes.services.reprocess_selection``, which marks it QUEUED a
chunk at a time inside PostgreSQL (keyset pagination, no ids in memory); the feeder
delivers the notes to the bulk queue round-robin across owners, so a million notes never
sit in memory or in Redis and never delay notes people are writing meanwhile.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from notes import services
from notes.models import Note
from notes.status import ProcessingStatus

S = ProcessingStatus
CHUNK_SIZE = services.REPROCESS_CHUNK


def _status_list(value: str) -> list[str]:
    statuses = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [s for s in statuses if s not in S.values]
    if unknown or not statuses:
        raise CommandError(
            f"Unknown status {', '.join(unknown) or value!r}; choose from {', '.join(S.values)}."
        )
    return statuses


def _id_list(value: str) -> list[int]:
    try:
        return sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise CommandError(f"--ids expects comma-separated note ids, got {value!r}.") from None


class Command(BaseCommand):
    help = "Queue finished notes (completed, failed, error) for enrichment again."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--status",
            type=_status_list,
            help="Comma-separated statuses to reprocess, e.g. failed,error.",
        )
        which.add_argument("--all", action="store_true", help="Every finished note.")
        which.add_argument("--ids", type=_id_list, help="Comma-separated note ids.")
        parser.add_argument(
            "--ignore-cache",
            action="store_true",
            help="Call the provider even when a cached enrichment for the same content exists.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the notes that would be queued."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        # Queued and processing notes are on their way already: the service skips them,
        # and leaving them out here keeps the progress total honest.
        finished = Note.objects.filter(processing_status__in=S.terminal())
        if options["status"]:
            active = sorted(set(options["status"]) - S.terminal())
            if active:
                self.stderr.write(
                    f"Ignoring {', '.join(active)}: such notes are already on their way."
                )
            selection = finished.filter(processing_status__in=options["status"])
        elif options["ids"]:
            selection = finished.filter(pk__in=options["ids"])
        else:
            selection = finished

        total = selection.count()
        if options["dry_run"]:
            self.stdout.write(f"Dry run: {total} note(s) would be queued for reprocessing.")
            return

        progress = tqdm(
            total=total,
            unit="note",
            disable=options["no_progress"] or None,  # None: only on a terminal
            # The raw stream: OutputWrapper appends a newline to each write, which would
            # break the bar's in-place redraw.
            file=self.stderr._out,
        )
        with progress:
            queued = services.reprocess_selection(
                selection,
                chunk_size=CHUNK_SIZE,
                ignore_cache=options["ignore_cache"],
                progress=progress.update,
            )
        skipped = total - queued
        self.stdout.write(
            self.style.SUCCESS(
                f"{queued} note(s) queued for reprocessing"
                + (f"; {skipped} skipped (changed status meanwhile)." if skipped else ".")
            )
        )
