"""The figures of /health/ in a terminal: ``python manage.py enrichment_status [--json]``.

Exit status 0 when ok, 1 when degraded, 2 when down, so that scripts and cron jobs can
act on it.
"""

import json

from django.core.management.base import BaseCommand

from enrichment import health

EXIT_CODES = {health.OK: 0, health.DEGRADED: 1, health.DOWN: 2}
STATUS_STYLES = {health.OK: "SUCCESS", health.DEGRADED: "WARNING", health.DOWN: "ERROR"}


def _format_value(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_format_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_format_value(v) for v in value) or "-"
    return "-" if value is None else str(value)


class Command(BaseCommand):
    help = "Show the enrichment pipeline's health: database, Redis, queues, workers, notes."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        report = health.collect()
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(self.render_table(report))
        if report["status"] != health.OK:
            # Non-zero exit codes without a traceback: the report above says what is wrong.
            raise SystemExit(EXIT_CODES[report["status"]])

    def render_table(self, report: dict) -> str:
        """One row per figure: check, status, figure, value."""
        rows = []
        for name, check in report["checks"].items():
            figures = {k: v for k, v in check.items() if k != "status"} or {"": ""}
            for i, (key, value) in enumerate(figures.items()):
                rows.append((name if i == 0 else "", check["status"] if i == 0 else "", key, value))
        widths = [
            max(len(str(r[c])) for r in [("check", "status", "figure", ""), *rows])
            for c in range(3)
        ]
        lines = [
            self._style(report["status"], f"Overall: {report['status']}"),
            "",
            f"{'check':<{widths[0]}}  {'status':<{widths[1]}}  {'figure':<{widths[2]}}  value",
            "-" * (sum(widths) + 6 + 20),
        ]
        for name, status, key, value in rows:
            cell = self._style(status, f"{status:<{widths[1]}}") if status else " " * widths[1]
            lines.append(
                f"{name:<{widths[0]}}  {cell}  {key:<{widths[2]}}  {_format_value(value)}".rstrip()
            )
        return "\n".join(lines)

    def _style(self, status: str, text: str) -> str:
        return getattr(self.style, STATUS_STYLES.get(status, "NOTICE"))(text)
