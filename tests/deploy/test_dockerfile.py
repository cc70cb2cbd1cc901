"""The Dockerfile and .dockerignore checked against the project (no Docker engine here)."""

import json
import re
import shlex

from tests.deploy.files import compose, dockerfile
from tests.deploy.support import ROOT

BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|make|clang|libpq-dev|python3-dev)\b")


def stages():
    return dockerfile()[1]


def runtime():
    return stages()[-1]


def test_two_stages_on_python_3_12_slim():
    assert [stage.name for stage in stages()] == ["builder", "runtime"]
    assert {stage.base for stage in stages()} == {"python:3.12-slim"}


def test_the_builder_builds_wheels_of_the_pinned_requirements():
    builder = stages()[0]
    assert any("pip wheel" in run and "requirements.txt" in run for run in builder.all("RUN"))


def test_the_runtime_installs_only_the_builders_wheels_and_no_build_tools():
    runs = runtime().all("RUN")
    install = next(run for run in runs if "pip install" in run)
    assert "--no-index" in install
    assert "from=builder" in install
    assert not any(BUILD_TOOLS.search(run) for run in runs)
    assert not any("apt-get install" in run for run in runs)


def test_the_runtime_runs_as_an_unprivileged_user():
    users = runtime().all("USER")
    assert users and users[-1] not in {"root", "0", "0:0"}
    # USER after the last RUN: the build runs as root, every container as the app user.
    keywords = [keyword for keyword, _ in runtime().instructions]
    assert keywords.index("USER") > max(i for i, kw in enumerate(keywords) if kw == "RUN")
    assert any("useradd" in run and users[-1] in run for run in runtime().all("RUN"))


def collectstatic_step() -> str:
    return next(run for run in runtime().all("RUN") if "collectstatic" in run)


def test_static_files_are_collected_at_build_time_with_a_key_that_never_reaches_runtime():
    step = shlex.split(collectstatic_step())
    assignments = dict(word.split("=", 1) for word in step if re.match(r"^[A-Z_]+=", word))
    assert assignments["SECRET_KEY"]  # settings refuse to start without one
    assert assignments["STATICFILES_MANIFEST"] == "true"
    assert step[len(assignments) :] == ["python", "manage.py", "collectstatic", "--noinput"]
    # Not an ENV or ARG: an inline assignment lives only for that one RUN.
    for stage in stages():
        for keyword in ("ENV", "ARG"):
            assert not any("SECRET_KEY" in args for args in stage.all(keyword))


def test_the_image_starts_the_same_web_server_as_compose():
    command = json.loads(runtime().all("CMD")[-1])
    assert command == compose()["services"]["web"]["command"]
    assert runtime().all("EXPOSE") == ["8000"]


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".git", ".venv", ".dev-postgres/", ".dev-admin-password"} <= ignored
    assert {"staticfiles/", "devservices/", "requirements-dev.txt"} <= ignored
    # Whatever .dockerignore says, the files the image needs are still there.
    for needed in ("requirements.txt", "manage.py", "gunicorn.conf.py"):
        assert needed not in ignored
