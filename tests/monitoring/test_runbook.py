"""The runbook's configuration reference and .env.example name every variable the
settings read, so an operator never has to read settings.py to configure notesite."""

import re

from tests.support.workers import ROOT

READ = re.compile(
    r'\benv(?:\.(?:str|int|bool|float|list|db)|_(?:int|bool|float|choice))\(\s*"([A-Z][A-Z0-9_]+)"'
)


def variables_read_by_settings() -> set[str]:
    return set(READ.findall((ROOT / "notesite" / "settings.py").read_text()))


def test_settings_are_parsed():
    # Guard against a regex that silently matches nothing.
    assert {
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "REDIS_URL",
        "HEALTH_TOKEN",
    } <= variables_read_by_settings()


def test_every_variable_is_in_the_runbook_reference():
    runbook = (ROOT / "docs" / "operations.md").read_text()
    reference = runbook.split("## 9. Configuration reference", 1)[1]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", reference))
    assert variables_read_by_settings() - documented == set()


def test_every_variable_is_in_env_example():
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
    assert variables_read_by_settings() - listed == set()
