"""`make run`: migrate, make sure an admin exists, then run Redis (if needed), a worker, the
web server and the cron scheduler (the reaper) together. Ctrl-C stops everything.

With DATABASE_URL set, that PostgreSQL is used; otherwise an embedded PostgreSQL server from
the development dependencies is started (data kept in .dev-postgres/, reused by the next run).
With REDIS_URL (or REDIS_SENTINELS) set, that Redis is used. Otherwise a Redis answering
on localhost:6379 is used, and if none answers, a real redis-server from the development
dependencies is started (data kept in .dev-redis/).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devservices.postgres import EmbeddedPostgres, NoEmbeddedPostgres  # noqa: E402
from devservices.redis import EmbeddedRedis, redis_answers  # noqa: E402

PY = sys.executable
CRON_COMMAND = [PY, "manage.py", "rqcron", "enrichment.cron"]


def manage(*args, env):
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def start(command, env) -> subprocess.Popen:
    # Each in its own session: a Ctrl-C reaches this script only, which then stops every
    # child once, the servers last. A second signal would cut RQ's shutdown short.
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C, and a SIGTERM from a process manager, both stop everything started here,
    # the embedded servers included.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    port = env.get("PORT", "8000")
    redis = postgres = None
    if not env.get("DATABASE_URL"):
        postgres = EmbeddedPostgres(ROOT / ".dev-postgres")
        try:
            env["DATABASE_URL"] = postgres.start()
        except NoEmbeddedPostgres as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"Using the embedded PostgreSQL server on port {postgres.port} (.dev-postgres/).")
    # With REDIS_SENTINELS the settings find the Redis master through the Sentinels.
    if not env.get("REDIS_URL") and not env.get("REDIS_SENTINELS"):
        if redis_answers("127.0.0.1", 6379):
            env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
            print("Using the Redis server on localhost:6379.")
        else:
            redis = EmbeddedRedis(directory=ROOT / ".dev-redis", persistent=True).start()
            env["REDIS_URL"] = redis.url
            print(f"Started an embedded Redis server on port {redis.port}.")

    children: list[subprocess.Popen] = []
    try:
        manage("migrate", "--noinput", env=env)
        manage("ensure_admin", env=env)
        commands = [
            [
                PY,
                "manage.py",
                "rqworker",
                "--with-scheduler",
                "note_maintenance",
                "note_enrichment",
                "note_enrichment_bulk",
            ],
            [PY, "manage.py", "runserver", f"127.0.0.1:{port}"],
            # The reaper, every ENRICHMENT_REAPER_INTERVAL seconds (docs/reliability.md).
            CRON_COMMAND,
        ]
        for command in commands:
            children.append(start(command, env))
        print(f"\nnotesite is running: http://127.0.0.1:{port}/admin/ (Ctrl-C stops it)\n")
        # Restarted when they exit, as a process supervisor (docker-compose restart
        # policy) would: RQ's cron scheduler exits when Redis is unreachable, and a
        # worker exits when a job ignores its timeout (docs/reliability.md).
        supervised = {0: "The worker", 2: "The cron scheduler"}
        while True:
            time.sleep(0.5)
            for index, name in supervised.items():
                if children[index].poll() is not None:
                    print(f"{name} stopped; restarting it in 5 s.")
                    time.sleep(5)
                    children[index] = start(commands[index], env)
            if children[1].poll() is not None:  # the web server: stop everything
                return children[1].returncode or 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis:
            redis.stop()
        if postgres:
            postgres.stop()
        print("notesite stopped.")


if __name__ == "__main__":
    sys.exit(main())
