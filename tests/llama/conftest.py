"""A real llama.cpp ``llama-server`` with a tiny random-weight model, for the ``llama`` tests.

The binary comes from ``scripts/build_llama_server.sh`` (``make llama-server``), which
builds it from the pinned llama-cpp-python sdist and caches it outside the clone. When it
is missing and cmake and a C++ compiler are present, it is built here (several minutes);
only a machine without them skips these tests.
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx2
import pytest

from tests.llama.tiny_model import NON_UTF8_TOKENS, QUOTE_TOKEN, write_model

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build_llama_server.sh"
API_KEY = "sk-llama-test-key-1234567890"
MODEL = "tiny"


def _cached_binary() -> Path:
    version = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
    cache = os.environ.get("NOTESITE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "notesite"
    )
    return Path(cache) / f"llama-server-{version}" / "llama-server"


@pytest.fixture(scope="session")
def llama_binary() -> Path:
    explicit = os.environ.get("LLAMA_SERVER")
    if explicit:
        assert os.access(explicit, os.X_OK), f"LLAMA_SERVER={explicit} is not an executable"
        return Path(explicit)
    binary = _cached_binary()
    if binary.exists():
        return binary
    missing = [tool for tool in ("cmake", "c++", "cc") if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"no llama-server at {binary} and it cannot be built here "
            f"({', '.join(missing)} missing; see `make llama-server`)"
        )
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    assert result.returncode == 0, f"building llama-server failed:\n{result.stderr[-3000:]}"
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return write_model(tmp_path_factory.mktemp("model") / "tiny.gguf")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """One ``llama-server`` process on loopback; ``base_url`` is its OpenAI API."""

    def __init__(
        self, binary: Path, model: Path, log: Path, *, context=8192, slots=4, unified=False
    ):
        self.port = _free_port()
        self.log = log
        self.command = [
            str(binary),
            "--model", str(model),
            "--alias", MODEL,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--ctx-size", str(context),
            "--parallel", str(slots),
            "--api-key", API_KEY,
            "--threads", "1",
            "--jinja",
            # Random weights never choose to end a string: unbiased, every string the
            # grammar allows runs to its maxLength (about two bytes a character, far past
            # any reply budget). A bias towards the quote stands in for a model that knows
            # when it is done; the grammar still decides where a quote may go.
            "--logit-bias", f"{QUOTE_TOKEN}+6",
            # Nor does it avoid bytes that are never UTF-8, which llama.cpp's grammar lets
            # through and its chat parser then refuses (500); real text has none.
            *(arg for token in NON_UTF8_TOKENS for arg in ("--logit-bias", f"{token}-100")),
        ]  # fmt: skip
        if unified:
            # The slots share one cache of ``context`` tokens instead of a part each.
            self.command.append("--kv-unified")
        self.process = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    def http(self) -> httpx2.Client:
        return httpx2.Client(
            base_url=self.root, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60
        )

    def start(self) -> "LlamaServer":
        self.process = subprocess.Popen(
            self.command, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx2.get(f"{self.root}/health", timeout=2).status_code == 200:
                    return self
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"llama-server did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def llama_server(llama_binary, tiny_model, tmp_path_factory):
    """The shared server: 4 slots of 8192 tokens each (llama-server divides -c between
    its slots), an API key."""
    log = tmp_path_factory.mktemp("llama") / "server.log"
    server = LlamaServer(llama_binary, tiny_model, log, context=4 * 8192).start()
    yield server
    server.stop()


@pytest.fixture
def llama_settings(llama_server, settings, redis_conn):
    """This process's settings pointed at the shared server."""
    settings.ENRICHMENT_BACKEND = "openai"
    settings.OPENAI_BASE_URL = llama_server.base_url
    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_MODEL = MODEL
    settings.ENRICHMENT_TIMEOUT = 60
    return settings
