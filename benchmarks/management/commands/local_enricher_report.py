"""``manage.py local_enricher_report``: the offline enricher's quality and speed, printed.

Quality comes from the hand-labelled notes in tests/enrichment/labelled_notes.py; speed
and memory are measured in this process: the first call (models loading), a typical
note and a 10,000-word note, in milliseconds and as ratios to the targets.
"""

import os
import statistics
import time

import psutil
from django.core.management.base import BaseCommand

TYPICAL_TARGET_MS = 10
LONG_TARGET_MS = 200


def _median_ms(function, text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function(text)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def long_note(notes, words: int = 10_000) -> str:
    """A Markdown note of ``words`` words made of the labelled notes, headings and lists."""
    parts, count = [], 0
    while count < words:
        for note in notes:
            parts.append(note.text)
            count += len(note.text.split())
            if count >= words:
                break
    return "\n\n".join(parts)


class Command(BaseCommand):
    help = "Print the offline enricher's accuracy on the labelled notes, its speed and memory."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=20, help="timed runs per note size")
        parser.add_argument("--verbose", action="store_true", help="list every miss")

    def handle(self, *args, runs, verbose, **options):
        process = psutil.Process()
        rss_before = process.memory_info().rss
        start = time.perf_counter()
        from benchmarks.local_enricher import measure
        from enrichment.enrichers.local import analyse, warm_up
        from enrichment.text.markup import blocks
        from tests.enrichment.labelled_notes import NOTES

        warm_up()
        first_ms = (time.perf_counter() - start) * 1000
        rss_mb = (process.memory_info().rss - rss_before) / 2**20

        report = measure(NOTES)
        languages = {note.language for note in NOTES} - {"und"}
        out = self.stdout.write
        out(f"Labelled notes: {report.notes} in {len(languages)} languages (+ undetermined)")
        out(f"Language accuracy:      {report.language_accuracy:7.1%}  (floor 95%)")
        out(f"Action-item recall:     {report.recall:7.1%}  (floor 90%)")
        out(f"Action-item precision:  {report.precision:7.1%}  (floor 90%)")
        out(f"Forbidden tags:         {len(report.bad_tags):7d}  (floor 0)")
        out(f"Expected tags missing:  {len(report.missing_tags):7d}")
        if verbose:
            for line in [*report.wrong, *report.bad_tags, *report.missing_tags]:
                out(f"  {line}")

        typical = next(n.text for n in NOTES if n.text.startswith("Quarterly planning"))
        long = long_note(NOTES)
        typical_ms = _median_ms(analyse, typical, runs)
        long_ms = _median_ms(analyse, long, max(3, runs // 4))
        parse_ms = _median_ms(blocks, long, max(3, runs // 4))
        load = os.getloadavg()[0]
        out(f"Machine: load average {load:.1f} on {os.cpu_count()} cores (times scale with it)")
        out(f"Load and first call:    {first_ms:7.0f} ms, RSS +{rss_mb:.0f} MiB (once per process)")
        out(
            f"Typical note ({len(typical.split())} words): {typical_ms:6.1f} ms median, "
            f"{typical_ms / TYPICAL_TARGET_MS:.2f}x the {TYPICAL_TARGET_MS} ms target"
        )
        out(
            f"Long note ({len(long.split())} words): {long_ms:6.1f} ms median, "
            f"{long_ms / LONG_TARGET_MS:.2f}x the {LONG_TARGET_MS} ms target, "
            f"{parse_ms / long_ms:.0%} of it parsing Markdown"
        )
