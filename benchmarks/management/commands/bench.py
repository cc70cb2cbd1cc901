"""`manage.py bench`: the benchmark suite, in a database and a Redis db of its own."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from benchmarks import environment
from benchmarks.environment import BenchStores

SECTIONS = ("latency", "concurrency", "memory", "overhead", "pages", "bulk")

# Full run (a few minutes on 2 cores) and --quick smoke run; explicit flags win over both.
# The million-note rows are opt-in: --notes 1000000.
PROFILES = {
    "full": {
        "notes": 100_000,
        "latency_ms": 1000,
        "latency_notes": 50,
        "workers": "8,32",
        "jobs_per_worker": 8,
        "overhead_jobs": 400,
        "repeats": 20,
        "drain_workers": 8,
        "drain_notes": 400,
        "drain_window": 15,
    },
    "quick": {
        "notes": 1000,
        "latency_ms": 50,
        "latency_notes": 4,
        "workers": "1,2",
        "jobs_per_worker": 2,
        "overhead_jobs": 20,
        "repeats": 3,
        "drain_workers": 2,
        "drain_notes": 20,
        "drain_window": 2,
    },
}
# Sizes of the growth table: each page is measured at every one up to --notes.
GROWTH = (1000, 100_000, 1_000_000)


class Command(BaseCommand):
    help = (
        "Measure what people notice (save-to-enrichment latency, concurrent model calls "
        "and their memory, pages and bulk work at N notes) beside raw RQ, in a separate "
        "database and Redis db, and print one table with targets."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quick", action="store_true", help="Tiny sizes: a smoke run.")
        parser.add_argument("--notes", type=int, help="Notes in the database for pages and bulk.")
        parser.add_argument("--latency-ms", type=int, help="Stub model latency (ms).")
        parser.add_argument("--latency-notes", type=int, help="Notes for the latency row.")
        parser.add_argument("--workers", help="Worker counts for concurrency, e.g. 8,32.")
        parser.add_argument("--jobs-per-worker", type=int, help="Concurrency notes per worker.")
        parser.add_argument("--overhead-jobs", type=int, help="Jobs per side, overhead row.")
        parser.add_argument("--drain-workers", type=int, help="Workers draining the backlog.")
        parser.add_argument("--drain-notes", type=int, help="Backlog drained to the last note.")
        parser.add_argument("--drain-window", type=float, help="Seconds the drain is timed.")
        parser.add_argument("--repeats", type=int, help="Timed requests per page.")
        parser.add_argument(
            "--worker-class", help="Dotted RQ worker class (default: the application's)."
        )
        parser.add_argument(
            "--only", default=",".join(SECTIONS), help="Comma-separated sections to run."
        )
        parser.add_argument(
            "--redis-db",
            type=int,
            default=None,
            help="Redis db number for the run, on the application's Redis server "
            "(default 13). It is flushed.",
        )
        parser.add_argument(
            "--redis-url", help="A whole Redis URL for the run instead (it is flushed)."
        )
        parser.add_argument("--json", help="Also write the rows to this JSON file.")
        parser.add_argument(
            "--keep-db", action="store_true", help="Keep the bench database afterwards."
        )
        # Internal: the re-run inside the bench stores, and its measured helper steps.
        parser.add_argument("--inside", action="store_true", help="(internal)")
        parser.add_argument("--step", help="(internal)")

    def handle(self, *args, **options):
        if options["step"]:
            environment.assert_inside(settings)
            from benchmarks.suite import step

            self.stdout.write(json.dumps(step(options["step"])))
            return
        if options["inside"]:
            return self.measure(options)
        return self.launch(options)

    # --- outside: prepare the bench stores and re-run there -------------------

    def launch(self, options):
        app_db = settings.DATABASES["default"]
        url, name = environment.bench_database(app_db)
        redis_db = options["redis_db"]
        if redis_db is None:
            redis_db = settings.REDIS_BENCH_DB
        redis_url = options["redis_url"] or environment.bench_redis_url(
            settings.REDIS_URL, redis_db
        )
        if redis_url.split("?")[0] == settings.REDIS_URL.split("?")[0]:
            raise CommandError("The bench Redis must not be the application's Redis db.")
        stores = BenchStores(url, name, redis_url)
        self.stderr.write(f"Bench database {name}, bench Redis db {redis_url.split('?')[0]}")
        environment.create_database(stores, app_db)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            environment.INSIDE_ENV: redis_url.split("?")[0],
            "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
            "DJANGO_SETTINGS_MODULE": "notesite.settings",
            # Pages are rendered without a collectstatic run: plain static storage, as
            # in the tests (the manifest only changes asset URLs, not the work measured).
            "STATICFILES_MANIFEST": "false",
            # The test client speaks plain HTTP on loopback, as behind a TLS proxy.
            "SECURE_SSL_REDIRECT": "false",
            # Workers log at warning unless told otherwise: the figures are the pipeline's,
            # not the log sink's (both sides of the overhead row log alike anyway).
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "warning"),
        }
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "bench", "--inside"]
        for key, value in options.items():
            if key in {"inside", "step", "keep_db", "redis_db", "redis_url"} or value in (
                None,
                False,
            ):
                continue
            if key in {"verbosity", "settings", "pythonpath", "traceback", "no_color"}:
                continue
            if key in {"force_color", "skip_checks"}:
                continue
            flag = "--" + key.replace("_", "-")
            argv += [flag] if value is True else [flag, str(value)]
        try:
            # The output of the re-run is the table; pass it through as it comes.
            completed = subprocess.run(
                argv, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, text=True
            )
            self.stdout.write(completed.stdout.rstrip("\n"))
        finally:
            if not options["keep_db"]:
                environment.drop_database(stores, app_db)
        if completed.returncode != 0:
            raise CommandError(f"The benchmark failed (exit status {completed.returncode}).")

    # --- inside: measure -----------------------------------------------------

    def measure(self, options):
        environment.assert_inside(settings)
        from benchmarks import data, suite

        profile = PROFILES["quick" if options["quick"] else "full"]
        values = {key: options.get(key) or default for key, default in profile.items()}
        cfg = suite.Config(
            **{key: values[key] for key in profile if key != "workers"},
            workers=sorted({int(n) for n in str(values["workers"]).split(",")}),
            worker_class=options["worker_class"],
        )
        only = [s.strip() for s in options["only"].split(",") if s.strip()]
        unknown = set(only) - set(SECTIONS)
        if unknown:
            raise CommandError(f"Unknown section(s): {', '.join(sorted(unknown))}")
        started = time.monotonic()
        load_before = os.getloadavg()
        call_command("migrate", verbosity=0, interactive=False)
        suite.flush_redis()
        main_user, others = data.users(1000 if cfg.notes >= 10_000 else 20)
        from django_rq.workers import get_worker_class

        worker_class = cfg.worker_class or get_worker_class().__module__ + "." + (
            get_worker_class().__name__
        )
        rows = []
        if "latency" in only:
            rows += suite.latency(cfg, main_user)
        if "concurrency" in only or "memory" in only:
            rows += suite.concurrency(cfg, main_user, memory="memory" in only)
        if "overhead" in only:
            rows += suite.overhead(cfg, main_user)
            rows += suite.openai_cpu(cfg, main_user)
        # Rows above leave their own small notes behind; pages and bulk start afresh.
        from notes.models import Note

        Note.objects.all().delete()
        suite.flush_redis()
        if "pages" in only or "bulk" in only:
            sizes = sorted({s for s in GROWTH if s < cfg.notes} | {cfg.notes})
            if "pages" in only:
                rows += suite.pages(cfg, main_user, others, sizes)
            else:
                data.seed_completed(cfg.notes, main_user=main_user, others=others)
        if "bulk" in only:
            rows += suite.bulk(cfg, main_user)
        header = [
            f"notesite benchmark, {timezone.now():%Y-%m-%d %H:%M} UTC"
            + (" (quick smoke run: sizes too small for the targets)" if options["quick"] else ""),
            *suite.machine(),
            f"worker class: {worker_class}; run took {time.monotonic() - started:.0f} s; "
            "load average at the start "
            + ", ".join(f"{x:.2f}" for x in load_before)
            + ", at the end "
            + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        ]
        self.stdout.write(suite.render(rows, header))
        if options["json"]:
            Path(options["json"]).write_text(
                json.dumps(
                    {"header": header, "rows": [row.__dict__ for row in rows]},
                    indent=2,
                    default=str,
                )
            )
