"""docker-compose.yml, the Dockerfile and .env.example, read the way their tools read them."""

import re
from dataclasses import dataclass, field
from functools import cache

import yaml

from tests.deploy.support import ROOT

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


@cache
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


@cache
def compose() -> dict:
    """The compose file as YAML (anchors and `<<` merges resolved, no interpolation)."""
    return yaml.safe_load(compose_text())


def interpolations() -> list[re.Match]:
    return list(_INTERPOLATION.finditer(compose_text().replace("$$", "")))


class MissingVariable(Exception):
    pass


def interpolate(value, env: dict):
    """Substitute ${...} in a compose value as `docker compose` does (the subset we use)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match):
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        unset_or_empty = current is None or (op is not None and op.startswith(":") and not current)
        if op and op.endswith("?") and unset_or_empty:
            raise MissingVariable(arg or name)
        if op and op.endswith("-") and unset_or_empty:
            return arg
        return current or ""

    return _INTERPOLATION.sub(substitute, value).replace("$$", "$")


@cache
def env_example() -> dict:
    """Variables in .env.example, including the commented-out optional ones."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found[match[1]] = match[2]
    return found


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


@cache
def dockerfile() -> tuple[dict, list[Stage]]:
    """(global ARG defaults, stages) of the Dockerfile; continuation lines joined."""
    logical, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    global_args, stages = {}, []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: global_args.get(m[1], m[0]), parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages:
            if keyword == "ARG" and "=" in args:
                key, _, value = args.partition("=")
                global_args[key.strip()] = value.strip()
        else:
            stages[-1].instructions.append((keyword, args.strip()))
    return global_args, stages
