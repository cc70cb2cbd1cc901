"""The one module that talks to LLM providers (any OpenAI-compatible endpoint).

Everything that leaves the machine for an LLM goes through :func:`build_client` and
:func:`chat`, so tests have one place to point at a loopback stub and one policy decides
what a provider's answer means:

* The SDK's own retries are off (``max_retries=0``): exactly one layer retries, the
  pipeline, which re-queues the note with backoff and shows "retry k of n at HH:MM". A
  transient fault therefore never multiplies into more calls than
  ``ENRICHMENT_MAX_RETRIES`` allows.
* Every SDK exception becomes an :mod:`enrichment.errors` kind with a reason a person can
  act on. The API key never appears in a reason or a log line.
"""

import functools
import re
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx2 as httpx
import openai
from django.conf import settings
from django.utils import timezone

from notesite import logs

from .errors import PermanentEnrichmentError, TransientEnrichmentError

MAX_PROVIDER_MESSAGE = 300
# How much of a 200 answer that is not JSON is kept (and quoted in the repair request).
MAX_NON_JSON = 2000


class ResponseFormatRejected(PermanentEnrichmentError):
    """The endpoint does not support the requested ``response_format``: try a simpler mode."""

    kind = "unsupported_format"


@dataclass
class Reply:
    """One provider answer: the text and what it cost."""

    content: str
    input_tokens: int
    output_tokens: int
    finish_reason: str | None
    refusal: str | None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The certificate authorities, loaded once per process: loading them is 95% of the
    cost of a client (28 ms of CPU), and a client is built for every note. A context
    holds no connection, so the clients of one process share it safely."""
    return httpx.create_ssl_context()


def build_client() -> openai.OpenAI:
    """The configured client. SDK retries off: the pipeline is the one retrying layer."""
    return openai.OpenAI(
        # Local servers need no key but the SDK insists on one.
        api_key=settings.OPENAI_API_KEY or "not-needed",
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=settings.ENRICHMENT_TIMEOUT,
        max_retries=0,
        http_client=openai.DefaultHttpxClient(verify=_tls_context()),
    )


def endpoint_url() -> str:
    return settings.OPENAI_BASE_URL or "https://api.openai.com/v1"


def redact(text: str) -> str:
    """``text`` with the configured key and anything secret-looking hidden: the log
    redaction (:func:`notesite.logs.redact`) plus the key as the settings hold it."""
    key = settings.OPENAI_API_KEY
    if key and len(key) >= 4:
        text = text.replace(key, logs.REDACTED)
    return logs.redact(text)


def _error_body(exc: openai.APIStatusError) -> dict:
    """The error object the provider sent; the SDK has already taken it out of "error"."""
    return exc.body if isinstance(exc.body, dict) else {}


def _provider_message(exc: openai.APIStatusError) -> str:
    message = _error_body(exc).get("message") or exc.message
    return redact(" ".join(str(message).split()))[:MAX_PROVIDER_MESSAGE]


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the provider asked us to wait (Retry-After, retry-after-ms), if any."""
    headers = response.headers
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


class ContextExceeded(PermanentEnrichmentError):
    """The request does not fit the model's context: the caller splits the note smaller.

    ``limit`` and ``requested`` are the server's figures (tokens) when it gives them.
    """

    kind = "context"

    def __init__(self, message, *, limit: int | None = None, requested: int | None = None):
        super().__init__(message)
        self.limit = limit
        self.requested = requested


# "JSON schema error" is llama.cpp's answer to a schema its grammar converter cannot take.
_FORMAT_WORDS = (
    "response_format",
    "json_schema",
    "json schema",
    "json_object",
    "structured output",
    "grammar",
    "guided_json",
)
# Context rejections as llama.cpp (exceed_context_size_error), vLLM ("maximum context
# length"), OpenAI (context_length_exceeded) and Ollama ("exceeds the context length") word them.
_CONTEXT_WORDS = (
    "context length",
    "context_length",
    "context size",
    "context window",
    "maximum context",
    "exceed_context_size",
    "too many tokens",
    "prompt is too long",
)
_LLAMA_CONTEXT = re.compile(r"\((\d+) tokens\) exceeds the available context size \((\d+) tokens")
_LIMIT = re.compile(
    r"(?:maximum context length|context (?:size|length|window))\D{0,20}?(\d{3,})", re.I
)
_REQUESTED = re.compile(
    r"(?:requested|resulted in|request has|prompt has)\s+(\d+)(?:\s+input)?\s+tokens",
    re.I,
)
# llama.cpp's answer when parallel requests together overflow the shared KV cache.
_SHARED_CACHE = "context size has been exceeded"
# llama.cpp's answer (HTTP 500) when its chat parser cannot read a reply its grammar let
# through (broken UTF-8, for one): a fault of that one reply, not of the server.
_UNPARSED_REPLY = "output that does not match the expected"


def _context_figures(body: dict, text: str) -> tuple[int | None, int | None]:
    """(limit, requested) in tokens, from the error body's fields or its wording."""
    limit = body.get("n_ctx")
    requested = body.get("n_prompt_tokens")
    if found := _LLAMA_CONTEXT.search(text):
        requested, limit = requested or int(found[1]), limit or int(found[2])
    if not limit and (found := _LIMIT.search(text)):
        limit = int(found[1])
    if not requested and (found := _REQUESTED.search(text)):
        requested = int(found[1])
    return (int(limit) if limit else None, int(requested) if requested else None)


def classify(exc: Exception, *, model: str) -> Exception:
    """The enrichment error for an SDK exception (returned, not raised).

    Transient errors carry ``provider_wide``: True for what says the provider as a whole is
    in trouble (429, 5xx, unreachable), which is what the circuit breaker counts; False for
    a timeout, which one oversized note can cause on its own.
    """
    if isinstance(exc, openai.APITimeoutError):
        return TransientEnrichmentError(
            f"The provider did not answer within ENRICHMENT_TIMEOUT "
            f"({settings.ENRICHMENT_TIMEOUT:g} s)."
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        return TransientEnrichmentError(
            f"Could not reach the provider ({cause}).", provider_wide=True
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _provider_message(exc)
        body = _error_body(exc)
        code = " ".join(str(body.get(k) or "") for k in ("code", "type")).lower()
        lowered = detail.lower()
        if status >= 500 and _SHARED_CACHE in lowered:
            return TransientEnrichmentError(
                # The advice comes first: the circuit breaker's reason keeps only the start.
                "Lower the parallelism (fewer workers, or fewer llama-server -np slots) or "
                "raise the server's context size (llama-server -c): parallel requests "
                f"together overflowed its shared context cache (HTTP {status}). {detail}",
                retry_after=retry_after(exc.response),
                provider_wide=True,
            )
        if status >= 500 and _UNPARSED_REPLY in lowered:
            return TransientEnrichmentError(
                f"The server could not parse the model's reply (HTTP {status}); it will be "
                "asked again. If this keeps happening, start llama-server with --no-jinja so "
                "that the raw reply comes back and is checked and repaired here, or use a "
                f"model that follows JSON instructions. {detail}",
                retry_after=retry_after(exc.response),
            )
        if status in (408, 409, 429) or status >= 500:
            label = "rate limited" if status == 429 else "temporarily unavailable"
            return TransientEnrichmentError(
                f"Provider {label} (HTTP {status}): {detail}",
                retry_after=retry_after(exc.response),
                provider_wide=status != 408,
            )
        if status == 401:
            return PermanentEnrichmentError(
                f"The provider rejected the API key (HTTP 401); check OPENAI_API_KEY. {detail}"
            )
        if status == 403:
            return PermanentEnrichmentError(
                f"The provider refused access (HTTP 403); check the key's permissions. {detail}"
            )
        if status == 404:
            return PermanentEnrichmentError(
                f"Model {model!r} was not found at the endpoint (HTTP 404); check "
                f"OPENAI_MODEL and OPENAI_BASE_URL. {detail}"
            )
        if "context" in code or any(word in lowered for word in _CONTEXT_WORDS):
            limit, requested = _context_figures(body, detail)
            return ContextExceeded(
                f"The request does not fit the model's context window (HTTP {status}). {detail}",
                limit=limit,
                requested=requested,
            )
        if status in (400, 422) and any(word in lowered for word in _FORMAT_WORDS):
            return ResponseFormatRejected(f"response_format rejected (HTTP {status}): {detail}")
        return PermanentEnrichmentError(
            f"The provider rejected the request (HTTP {status}): {detail}"
        )
    return exc


def chat(
    client: openai.OpenAI,
    *,
    model: str,
    messages: list[dict],
    response_format: dict | None,
    max_tokens: int | None = None,
) -> Reply:
    """One chat completion request. Raises enrichment errors, never SDK errors.

    A 200 whose body is not a chat completion (an HTML page, plain text) comes back as a
    reply with that text as content, so that it takes the invalid-output path (one repair
    request, then failed) like any other unusable answer.
    """
    params = {"model": model, "messages": messages, "temperature": 0.2}
    if response_format is not None:
        params["response_format"] = response_format
    if max_tokens:
        params["max_tokens"] = max_tokens
    try:
        completion = client.chat.completions.create(**params)
    except openai.OpenAIError as exc:
        raise classify(exc, model=model) from exc
    if not hasattr(completion, "choices"):
        text = completion if isinstance(completion, str) else repr(completion)
        return Reply(text[:MAX_NON_JSON], 0, 0, None, None)
    if not completion.choices:
        raise TransientEnrichmentError("The provider returned no choices.")
    choice = completion.choices[0]
    usage = completion.usage
    return Reply(
        content=choice.message.content or "",
        input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        output_tokens=getattr(usage, "completion_tokens", 0) or 0,
        finish_reason=choice.finish_reason,
        refusal=getattr(choice.message, "refusal", None),
    )


# --- What the endpoint publishes about itself -----------------------------------------

PROBE_TIMEOUT = 5.0


def _server_root(base_url: str) -> str:
    """The server's root: llama.cpp, vLLM and Ollama publish /props, /tokenize and
    /api/show beside their /v1 API."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def is_openai(base_url: str) -> bool:
    """OpenAI's own API (or Azure's): the strict schema subset, tiktoken, nothing to probe."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".openai.azure.com")


def _http() -> httpx.Client:
    key = settings.OPENAI_API_KEY
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(timeout=PROBE_TIMEOUT, headers=headers, follow_redirects=False)


def _json(response: httpx.Response):
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def probe(base_url: str, model: str) -> dict | None:
    """What the endpoint says about itself: ``server`` (llama.cpp, vllm, ollama or ""),
    ``context`` (tokens, 0 when unknown) and ``tokenize`` (1 when ``/tokenize`` counts).

    Each question is one short request; a server that does not answer it is simply not
    that kind of server. None when the server cannot be reached at all; never raises.
    """
    found = {"server": "", "context": 0, "tokenize": 0}
    if is_openai(base_url):
        found["server"] = "openai"
        return found
    root = _server_root(base_url)
    try:
        with _http() as http:
            props = _json(http.get(f"{root}/props"))
            if isinstance(props, dict) and "default_generation_settings" in props:
                settings_ = props["default_generation_settings"] or {}
                n_ctx = settings_.get("n_ctx") or props.get("n_ctx") or 0
                return {"server": "llama.cpp", "context": int(n_ctx), "tokenize": 1}
            models = _json(http.get(f"{base_url.rstrip('/')}/models"))
            for entry in (models or {}).get("data", []) if isinstance(models, dict) else []:
                if isinstance(entry, dict) and entry.get("max_model_len"):
                    if entry.get("id") == model or len(models["data"]) == 1:
                        return {
                            "server": "vllm",
                            "context": int(entry["max_model_len"]),
                            "tokenize": 1,
                        }
            show = _json(http.post(f"{root}/api/show", json={"model": model}))
            if isinstance(show, dict) and ("model_info" in show or "parameters" in show):
                found.update(server="ollama", context=_ollama_context(show))
    except httpx.TransportError:
        # Unreachable now: nothing learned, so the next note asks again.
        return None
    except (httpx.HTTPError, ValueError, TypeError):
        pass
    return found


# Ollama's default context when the model file sets no num_ctx (OLLAMA_CONTEXT_LENGTH can
# change it server-wide, which /api/show does not report): Ollama cuts longer prompts
# silently instead of refusing them, so the figure errs low.
OLLAMA_DEFAULT_CONTEXT = 4096


def _ollama_context(show: dict) -> int:
    parameters = str(show.get("parameters") or "")
    if found := re.search(r"^\s*num_ctx\s+(\d+)", parameters, re.M):
        return int(found[1])
    trained = [
        int(v)
        for k, v in (show.get("model_info") or {}).items()
        if k.endswith(".context_length") and str(v).isdigit()
    ]
    return min([OLLAMA_DEFAULT_CONTEXT, *trained])


def tokenize(base_url: str, server: str, model: str, text: str) -> int | None:
    """The exact token count of ``text`` by the server's own tokenizer, or None."""
    root = _server_root(base_url)
    if server == "llama.cpp":
        payload = {"content": text, "add_special": False, "parse_special": False}
    elif server == "vllm":
        payload = {"model": model, "prompt": text, "add_special_tokens": False}
    else:
        return None
    try:
        with _http() as http:
            data = _json(http.post(f"{root}/tokenize", json=payload))
    except httpx.HTTPError:
        return None
    if not isinstance(data, dict):
        return None
    tokens = data.get("tokens")
    return len(tokens) if isinstance(tokens, list) else None
