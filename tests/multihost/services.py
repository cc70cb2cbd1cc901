"""The database host of the multi-host test: ``python -m tests.multihost.services ADDRESS DIR``.

Run inside that host's namespace. Starts a private PostgreSQL and Redis listening on
ADDRESS, migrates the database, prints one JSON line with their URLs, and stops both when
its standard input closes (the test ended, or died).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from devservices.postgres import EmbeddedPostgres
from devservices.redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parents[2]


def main(address: str, directory: str) -> None:
    database = EmbeddedPostgres(Path(directory) / "pg", throwaway=True, host=address)
    redis = EmbeddedRedis(host=address, directory=Path(directory) / "redis")
    try:
        database_url = database.start()
        redis.start()
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis.url}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            stdout=sys.stderr,  # standard output carries only the URLs
            check=True,
        )
        print(json.dumps({"DATABASE_URL": database_url, "REDIS_URL": redis.url}), flush=True)
        sys.stdin.read()  # until the test closes the pipe
    finally:
        redis.stop()
        database.stop()


if __name__ == "__main__":
    main(*sys.argv[1:3])
