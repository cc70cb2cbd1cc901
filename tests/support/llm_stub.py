"""A scripted OpenAI-compatible HTTP server on loopback, for tests that use the real client.

    with LLMStub(["server_error", "success"]) as stub:
        settings.OPENAI_BASE_URL = stub.base_url
        ...
        assert stub.count == 2

Each POST to ``/v1/chat/completions`` takes the next behaviour from the script; when the
script is used up, ``default`` answers. ``supports`` lists the ``response_format`` types
the endpoint accepts (a request with another type gets a 400 without using a script
step), like an old local server that knows JSON mode but not structured outputs; a
non-strict ``json_schema`` (the full schema) counts as the type ``json_schema_full``.

Two knobs for chaos tests, per server or from the environment (``LLM_STUB_DELAY``
seconds before every answer, ``LLM_STUB_FAILURE_RATE`` 0..1 chance of a 503 instead of
the scripted answer), and ``python -m tests.support.llm_stub`` runs a stub on its own.
"""

import json
import os
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BEHAVIOURS = (
    "success",
    "fenced",
    "think",
    "prose",
    "empty",
    "think_only",
    "malformed",
    "invalid_schema",
    "rate_limited",
    "server_error",
    "slow",
    "unauthorized",
    "forbidden",
    "model_not_found",
    "context_length",
    "refusal",
    "shared_cache",
    "llama_context",
    "leaky_error",
    "not_json",
    "secret_title",
)

_NOTE = re.compile(r"<note>\n(.*)\n</note>", re.DOTALL)


def enrichment_for(note_text: str) -> dict:
    """A valid enrichment derived from the note, so tests can tell which text was sent."""
    words = note_text.split()
    items = [
        line.strip()[5:].strip()
        for line in note_text.splitlines()
        if line.strip().upper().startswith("TODO ")
    ]
    return {
        "title": " ".join(words[:5]) or "Empty",
        "summary": f"A note of {len(words)} words.",
        "tags": ["stub", words[0].lower().strip(".,:;!?")[:20] if words else "empty"],
        "action_items": items,
        "language": "en",
    }


class LLMStub:
    """A real threaded HTTP server on 127.0.0.1 with a free port. See the module docstring."""

    def __init__(
        self,
        script=(),
        *,
        default: str = "success",
        supports=("json_schema_full", "json_schema", "json_object", None),
        delay: float | None = None,
        failure_rate: float | None = None,
        slow_seconds: float = 5.0,
        retry_after: str | None = "1",
        report_usage: bool = True,
        seed: int | None = None,
        n_ctx: int | None = None,
        max_model_len: int | None = None,
        publish: bool = True,
    ):
        self.script = list(script)
        self.default = default
        self.supports = set(supports)
        self.delay = float(os.environ.get("LLM_STUB_DELAY", "0") if delay is None else delay)
        rate = (
            os.environ.get("LLM_STUB_FAILURE_RATE", "0") if failure_rate is None else failure_rate
        )
        self.failure_rate = float(rate)
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.report_usage = report_usage
        # n_ctx: behave like llama.cpp with a byte-level tokenizer (one token per byte):
        # publish /props and /tokenize, and refuse a request longer than n_ctx tokens.
        # max_model_len: publish it in /v1/models, as vLLM does.
        self.n_ctx = n_ctx
        self.max_model_len = max_model_len
        # publish=False: keep n_ctx and the tokenizer to itself, as many servers do.
        self.publish = publish
        self.tokenize_calls = 0
        self.random = random.Random(seed)
        self.requests: list[dict] = []
        self.answers: list[str] = []
        # Concurrency seen by the server.
        self.in_flight = 0
        self.max_in_flight = 0
        # Client port -> when its request came in, for the requests being answered: which
        # connection waits for an answer, and for how long already.
        self.serving_ports: dict[int, float] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> "LLMStub":
        stub = self

        class Handler(_Handler):
            pass

        Handler.stub = stub
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def count(self) -> int:
        """Chat completion requests received so far (whatever was answered)."""
        with self.lock:
            return len(self.requests)

    # --- answering ----------------------------------------------------------------

    def next_behaviour(self, body: dict) -> str:
        with self.lock:
            self.requests.append(body)
            if _format_type(body) not in self.supports:
                behaviour = "format_rejected"
            elif self.failure_rate and self.random.random() < self.failure_rate:
                behaviour = "chaos_failure"
            elif self.script:
                behaviour = self.script.pop(0)
            else:
                behaviour = self.default
            self.answers.append(behaviour)
            return behaviour

    def answer(self, behaviour: str, body: dict) -> tuple[int, dict, dict | None]:
        """(status, headers, JSON body) for one behaviour."""
        note = _NOTE.search(body["messages"][-1]["content"] if body.get("messages") else "")
        # A repair request ends with the correction prompt: enrich the original note.
        for message in body.get("messages", []):
            found = _NOTE.search(message.get("content") or "")
            if found:
                note = found
                break
        data = enrichment_for(note.group(1) if note else "")
        valid = json.dumps(data)
        contents = {
            "success": valid,
            "fenced": f"```json\n{valid}\n```",
            "think": f"<think>The user wants JSON {{not this}}. Let me think.</think>\n{valid}",
            "prose": f"Sure! Here is the enrichment you asked for:\n{valid}\nHope this helps.",
            "empty": "",
            # A reasoning model that ran out of tokens while still thinking.
            "think_only": "<think>Let me consider the note carefully. First",
            "malformed": '{"title": "Unfinished", "summary": "cut off',
            "invalid_schema": json.dumps({"title": "", "summary": "S", "tags": "not-a-list"}),
            "slow": valid,
        }
        if behaviour in contents:
            if behaviour == "slow":
                time.sleep(self.slow_seconds)
            finish = "length" if behaviour in ("empty", "think_only") else "stop"
            reply = _completion(body, contents[behaviour], finish)
            if not self.report_usage:
                del reply["usage"]
            return 200, {}, reply
        if behaviour == "not_json":
            return 200, {"Content-Type": "text/html"}, "<html><body>Welcome to nginx!</body></html>"
        if behaviour == "secret_title":
            data["title"] = "Use Bearer sk-live-abcdef1234567890"
            return 200, {}, _completion(body, json.dumps(data), "stop")
        if behaviour == "refusal":
            return 200, {}, _completion(body, None, "stop", refusal="I can't help with that.")
        errors = {
            "rate_limited": (429, "Rate limit reached for requests", "rate_limit_exceeded"),
            "server_error": (500, "The server had an error while processing your request.", None),
            "chaos_failure": (503, "Service temporarily unavailable (chaos).", None),
            "unauthorized": (401, "Incorrect API key provided: sk-test***7890.", "invalid_api_key"),
            "forbidden": (403, "You are not allowed to use this model.", None),
            "model_not_found": (
                404,
                f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                "model_not_found",
            ),
            "context_length": (
                400,
                "This model's maximum context length is 8192 tokens. However, your messages "
                "resulted in 9100 tokens. Please reduce the length of the messages.",
                "context_length_exceeded",
            ),
            "format_rejected": (
                400,
                # llama.cpp's words for a schema its grammar converter cannot take.
                'JSON schema error: Unrecognized schema: {"maxLength": 200}'
                if _format_type(body) == "json_schema_full"
                else "Invalid parameter: 'response_format' of type "
                f"'{_format_type(body)}' is not supported.",
                None,
            ),
            # llama.cpp when parallel requests together overflow its shared cache.
            "shared_cache": (500, "Context size has been exceeded.", None),
            # llama.cpp when one request is larger than the context.
            "llama_context": (
                400,
                "request (14475 tokens) exceeds the available context size (8192 tokens), "
                "try increasing it",
                "exceed_context_size_error",
            ),
            # A secret in an error body must not reach the note's reason.
            "leaky_error": (
                400,
                "Bad request from redis://:hunter2pass@10.0.0.5:6379/0 token=tok_ABCDEF123456",
                None,
            ),
        }
        status, message, code = errors[behaviour]
        headers = {}
        if behaviour == "rate_limited" and self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
        return status, headers, {"error": error}


def _format_type(body: dict) -> str | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema" and not fmt.get("json_schema", {}).get("strict"):
        return "json_schema_full"
    return fmt.get("type")


def _completion(body: dict, content, finish_reason: str, refusal=None) -> dict:
    prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
            }
        ],
        # Deterministic figures so tests can assert what the run history recorded.
        "usage": {
            "prompt_tokens": max(1, prompt // 4),
            "completion_tokens": 50 if content else 0,
            "total_tokens": max(1, prompt // 4) + (50 if content else 0),
        },
    }


class _Handler(BaseHTTPRequestHandler):
    stub: LLMStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: tests read counts, not access logs
        pass

    def _send(self, status: int, headers: dict, payload) -> None:
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **headers}
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): that is what the test wanted

    def do_GET(self):
        stub = self.stub
        if self.path.rstrip("/").endswith("/models"):
            model = {"id": "stub-model"}
            if stub.max_model_len:
                model["max_model_len"] = stub.max_model_len
            self._send(200, {}, {"object": "list", "data": [model]})
        elif self.path == "/props" and stub.n_ctx and stub.publish:
            self._send(200, {}, {"default_generation_settings": {"n_ctx": stub.n_ctx}})
        else:
            self._send(404, {}, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        stub = self.stub
        if self.path == "/tokenize" and stub.n_ctx and stub.publish:
            with stub.lock:
                stub.tokenize_calls += 1
            content = json.loads(raw or b"{}").get("content", "")
            self._send(200, {}, {"tokens": list(range(len(content.encode())))})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {}, {"error": {"message": f"unknown path {self.path}"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(400, {}, {"error": {"message": "body is not JSON"}})
            return
        if stub.n_ctx:
            tokens = sum(len(str(m.get("content") or "").encode()) for m in body["messages"])
            if tokens > stub.n_ctx:
                with stub.lock:
                    stub.requests.append(body)
                    stub.answers.append("too_long")
                message = (
                    f"request ({tokens} tokens) exceeds the available context size "
                    f"({stub.n_ctx} tokens), try increasing it"
                )
                error = {"code": 400, "message": message, "type": "exceed_context_size_error"}
                self._send(400, {}, {"error": error})
                return
        behaviour = stub.next_behaviour(body)
        client_port = self.client_address[1]
        with stub.lock:
            stub.in_flight += 1
            stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
            stub.serving_ports[client_port] = time.monotonic()
        try:
            if stub.delay:
                time.sleep(stub.delay)
            status, headers, payload = stub.answer(behaviour, body)
        finally:
            with stub.lock:
                stub.in_flight -= 1
                stub.serving_ports.pop(client_port, None)
        self._send(status, headers, payload)


def main() -> None:  # pragma: no cover - a manual and chaos-test convenience
    import argparse

    parser = argparse.ArgumentParser(description="Run the OpenAI-compatible test stub.")
    parser.add_argument("--default", default="success", choices=BEHAVIOURS)
    args = parser.parse_args()
    with LLMStub(default=args.default) as stub:
        print(stub.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
