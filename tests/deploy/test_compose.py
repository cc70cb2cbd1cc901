"""docker-compose.yml checked against the project (no Docker engine is needed for this)."""

import importlib.util
import re
import runpy

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.urls import resolve

from notesite import healthcheck
from tests.deploy.files import MissingVariable, compose, env_example, interpolate, interpolations
from tests.deploy.support import ROOT, load_settings

APP_SERVICES = ("migrate", "web", "worker", "scheduler")
SECRETS = ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD")
# What a team fills in after `cp .env.example .env`.
FILLED_ENV = {
    **env_example(),
    "SECRET_KEY": "k" * 60,
    "POSTGRES_PASSWORD": "0123456789abcdef",
    "REDIS_PASSWORD": "fedcba9876543210",
    "ALLOWED_HOSTS": "notes.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://notes.example.com",
}


def service(name: str) -> dict:
    return compose()["services"][name]


def read_by_the_application(variable: str) -> bool:
    sources = (ROOT / "notesite" / "settings.py").read_text()
    sources += (ROOT / "gunicorn.conf.py").read_text()
    return f'"{variable}"' in sources or f"'{variable}'" in sources


def manage_command(command: list[str]) -> tuple[str, list[str]]:
    assert command[:2] == ["python", "manage.py"], command
    return command[2], command[3:]


def test_the_stack_has_the_expected_services():
    assert set(compose()["services"]) == {"db", "redis", "proxy", *APP_SERVICES}


def test_every_application_service_runs_the_one_image_with_the_env_file():
    images = {service(name)["image"] for name in APP_SERVICES}
    assert images == {"notesite:latest"}
    for name in APP_SERVICES:
        assert service(name)["build"] == "."
        assert service(name)["env_file"] == [{"path": ".env", "required": True}]


def test_every_manage_py_command_exists_and_accepts_its_arguments():
    commands = get_commands()
    for name in APP_SERVICES:
        command = service(name)["command"]
        if command[0] == "gunicorn":
            continue
        subcommand, args = manage_command(command)
        assert subcommand in commands, f"{name}: manage.py {subcommand} does not exist"
        parser = load_command_class(commands[subcommand], subcommand).create_parser(
            "manage.py", subcommand
        )
        parser.parse_args(args)  # exits (SystemExit) on an unknown flag or missing argument


def test_migrate_runs_the_migrations_once_without_prompting():
    migrate = service("migrate")
    assert manage_command(migrate["command"]) == ("migrate", ["--noinput"])
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}


# Importing the WSGI module builds the app; WhiteNoise warns that nothing was collected.
@pytest.mark.filterwarnings("ignore:No directory at")
def test_web_runs_gunicorn_with_the_config_in_the_repository():
    command = service("web")["command"]
    assert command[:3] == ["gunicorn", "--config", "gunicorn.conf.py"]
    assert (ROOT / command[2]).is_file()
    module = command[3]
    assert importlib.util.find_spec(module) is not None
    assert hasattr(importlib.import_module(module), "application")


def test_the_web_healthcheck_probes_a_url_the_project_serves():
    test = service("web")["healthcheck"]["test"]
    assert test == ["CMD", "python", "-m", "notesite.healthcheck"]
    # The slim image has no curl: the probe is a module of the project.
    assert importlib.util.find_spec("notesite.healthcheck") is not None
    assert resolve(healthcheck.DEFAULT_PATH).url_name == "health-live"


def test_the_worker_names_every_queue_it_serves_maintenance_and_main_first():
    subcommand, args = manage_command(service("worker")["command"])
    assert subcommand == "rqworker"
    assert "--with-scheduler" in args
    queues = [arg for arg in args if not arg.startswith("-")]
    assert queues == [
        settings.ENRICHMENT_MAINTENANCE_QUEUE,
        settings.ENRICHMENT_QUEUE,
        settings.ENRICHMENT_BULK_QUEUE,
    ]
    assert set(queues) <= set(settings.RQ_QUEUES)


def test_the_worker_can_be_scaled():
    # `docker compose up --scale worker=4` fails with a fixed name or a fixed host port.
    worker = service("worker")
    assert "container_name" not in worker
    assert "ports" not in worker
    assert all("container_name" not in svc for svc in compose()["services"].values())


def test_the_scheduler_runs_the_cron_configuration_module():
    subcommand, args = manage_command(service("scheduler")["command"])
    assert subcommand == "rqcron"
    assert args == ["enrichment.cron"]
    if importlib.util.find_spec("enrichment.cron") is None:
        pytest.skip("enrichment/cron.py (the reaper's schedule) is not on this branch yet")
    # Load it the way `rqcron` does (registering opens no connection): every periodic job
    # must target a configured queue, or the scheduler service would crash at start.
    from django_rq.cron import DjangoCronScheduler

    scheduler = DjangoCronScheduler()
    scheduler.load_config_from_file(args[0])
    jobs = scheduler.get_jobs()
    assert jobs, "enrichment.cron registers no periodic job"
    assert {job.queue_name for job in jobs} <= set(settings.RQ_QUEUES)


def test_redis_keeps_jobs_across_restarts_and_never_evicts_them():
    redis = service("redis")
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    assert "redis-data:/data" in redis["volumes"]


def test_postgres_has_a_readiness_healthcheck_and_a_named_volume():
    db = service("db")
    assert re.fullmatch(r"postgres:1[67](\..*)?", db["image"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "postgres-data:/var/lib/postgresql/data" in db["volumes"]


def test_every_volume_used_is_a_declared_named_volume():
    declared = set(compose()["volumes"])
    used = {
        volume.split(":")[0]
        for svc in compose()["services"].values()
        for volume in svc.get("volumes", [])
        if not volume.startswith("./")  # the proxy's read-only Caddyfile and certificates
    }
    assert used == declared == {"postgres-data", "redis-data", "caddy-data", "caddy-config"}


def test_application_services_start_after_healthy_services_and_a_finished_migration():
    for name in ("web", "worker", "scheduler"):
        assert service(name)["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
    for svc in compose()["services"].values():
        for target, condition in svc.get("depends_on", {}).items():
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in service(target), target


def test_no_secret_has_a_default_value():
    for match in interpolations():
        if match["name"] in SECRETS:
            assert match["op"] == ":?", f"{match[0]} must be required (:?)"
    for svc in compose()["services"].values():
        for key, value in (svc.get("environment") or {}).items():
            if re.search("SECRET|PASSWORD|AUTH|TOKEN", key):
                assert str(value).startswith("${") and ":?" in str(value), key


@pytest.mark.parametrize("missing", (*SECRETS, "ALLOWED_HOSTS"))
def test_compose_refuses_to_start_without_each_required_value(missing):
    env = {key: value for key, value in FILLED_ENV.items() if key != missing}
    with pytest.raises(MissingVariable, match=f"set {missing} in .env"):
        interpolate(compose(), env)


def test_every_variable_the_compose_file_uses_is_documented_in_env_example():
    used = {match["name"] for match in interpolations()}
    assert used - set(env_example()) == set()


def test_every_variable_given_to_the_application_is_read_by_it():
    for name in APP_SERVICES:
        for variable in service(name).get("environment", {}):
            assert read_by_the_application(variable), f"{name}: {variable} is read by nothing"


def test_every_env_example_variable_is_read_by_the_application_or_compose():
    used_by_compose = {match["name"] for match in interpolations()}
    for variable in env_example():
        assert read_by_the_application(variable) or variable in used_by_compose, variable


def test_a_filled_env_example_gives_the_application_a_working_production_configuration():
    web = interpolate(service("web"), FILLED_ENV)
    # Compose gives the container the .env file, then `environment` on top.
    environment = {**FILLED_ENV, **web["environment"]}
    loaded = load_settings(environment, "DATABASES", "REDIS_URL", "DEBUG")
    database = loaded["DATABASES"]["default"]
    assert (database["HOST"], database["NAME"], database["USER"]) == ("db", "notesite", "notesite")
    assert database["PASSWORD"] == FILLED_ENV["POSTGRES_PASSWORD"]
    assert loaded["REDIS_URL"].startswith(f"redis://:{FILLED_ENV['REDIS_PASSWORD']}@redis:6379/0")
    assert loaded["DEBUG"] is False


def test_a_worker_requeues_its_note_before_compose_kills_it():
    grace = int(service("worker")["stop_grace_period"].removesuffix("s"))
    shutdown_grace = int(env_example()["ENRICHMENT_SHUTDOWN_GRACE"])
    # The job's grace period, then the requeue and a clean exit, all before SIGKILL.
    assert shutdown_grace + 15 <= grace


def test_web_stops_gracefully_before_compose_kills_it():
    grace = int(service("web")["stop_grace_period"].removesuffix("s"))
    gunicorn_graceful = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]
    assert gunicorn_graceful < grace
