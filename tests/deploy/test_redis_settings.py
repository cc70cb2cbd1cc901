"""Redis for many hosts: TLS and passwords in REDIS_URL, and Redis Sentinel."""

import json
import subprocess
import sys

import pytest

from tests.deploy.support import ROOT, SettingsError, clean_env, load_settings, production_env

QUEUES = ("note_enrichment", "note_enrichment_bulk", "note_maintenance")
PASSWORD = "s3cr:t/p@ss"  # characters that must survive URL quoting
QUOTED = "s3cr%3At%2Fp%40ss"

# Builds the queue's real redis-py client (no connection is opened) and reports how it
# would connect, plus what an error report would show of the settings.
_CLIENT = """
import json
import django
django.setup()
from django.conf import settings
from django.views.debug import get_default_exception_reporter_filter
import django_rq
from notes import delivery

client = delivery.get_connection()
pool = client.connection_pool
kwargs = pool.connection_kwargs
safe = get_default_exception_reporter_filter().get_safe_settings()
print(json.dumps({
    "connection_class": pool.connection_class.__name__,
    "pool_class": type(pool).__name__,
    "host": kwargs.get("host"),
    "port": kwargs.get("port"),
    "db": kwargs.get("db"),
    "password": kwargs.get("password"),
    "ssl_cert_reqs": str(kwargs.get("ssl_cert_reqs")),
    "same_for_bulk": django_rq.get_queue("note_enrichment_bulk").connection.connection_pool
        .connection_kwargs.get("password") == kwargs.get("password"),
    "safe_settings": repr(safe),
}, default=str))
"""


def client_facts(env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CLIENT],
        cwd=ROOT,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_rediss_url_with_a_password_gives_every_queue_a_tls_client_with_that_password():
    url = f"rediss://:{QUOTED}@redis.example.com:6380/2"
    facts = client_facts(production_env(REDIS_URL=url))
    assert facts["connection_class"] == "SSLConnection"
    assert facts["ssl_cert_reqs"] == "required"  # certificates are verified
    assert (facts["host"], facts["port"], facts["db"]) == ("redis.example.com", 6380, 2)
    assert facts["password"] == PASSWORD
    assert facts["same_for_bulk"] is True


def test_the_redis_password_never_shows_in_error_reports():
    facts = client_facts(production_env(REDIS_URL=f"rediss://:{QUOTED}@redis.example.com:6380/0"))
    assert QUOTED not in facts["safe_settings"]
    assert PASSWORD not in facts["safe_settings"]
    # The settings are in the report, only their values are hidden.
    assert "'REDIS_URL': '********************'" in facts["safe_settings"]


def test_a_rejected_redis_url_is_reported_without_its_password():
    with pytest.raises(SettingsError) as raised:
        load_settings(production_env(REDIS_URL=f"http://:{QUOTED}@redis.example.com/0"), "X")
    assert "REDIS_URL is invalid" in str(raised.value)
    assert QUOTED not in str(raised.value)


def test_sentinels_produce_a_sentinel_queue_config_for_every_queue():
    env = production_env(
        REDIS_SENTINELS="sentinel-a:26379, sentinel-b:26380,[::1]:26381",
        REDIS_SENTINEL_MASTER="notesite-master",
        REDIS_SENTINEL_PASSWORD="sentinel-pw",
        # The master's credentials, db and TLS; the Sentinels give its address.
        REDIS_URL=f"rediss://:{QUOTED}@notesite-master/3",
    )
    queues = load_settings(env, "RQ_QUEUES")["RQ_QUEUES"]
    assert sorted(queues) == sorted(QUEUES)
    for config in queues.values():
        assert "URL" not in config
        assert config["SENTINELS"] == [["sentinel-a", 26379], ["sentinel-b", 26380], ["::1", 26381]]
        assert config["MASTER_NAME"] == "notesite-master"
        assert config["DB"] == 3
        assert config["CONNECTION_KWARGS"]["password"] == PASSWORD
        assert config["CONNECTION_KWARGS"]["ssl"] is True
        assert config["SENTINEL_KWARGS"]["password"] == "sentinel-pw"


def test_without_sentinels_the_queues_use_redis_url():
    queues = load_settings(production_env(), "RQ_QUEUES")["RQ_QUEUES"]
    for config in queues.values():
        assert "SENTINELS" not in config
        assert config["URL"].startswith("redis://:pw@redis:6379/0?")


def test_a_malformed_sentinel_address_stops_start_up_naming_the_variable():
    with pytest.raises(SettingsError, match="REDIS_SENTINELS is invalid"):
        load_settings(production_env(REDIS_SENTINELS="sentinel-a"), "RQ_QUEUES")
