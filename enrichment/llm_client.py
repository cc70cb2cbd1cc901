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

import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import openai
from django.conf import settings
from django.utils import timezone

from .errors import PermanentEnrichmentError, TransientEnrichmentError

MAX_PROVIDER_MESSAGE = 300


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
    model: str


def build_client() -> openai.OpenAI:
    """The configured client. SDK retries off: the pipeline is the one retrying layer."""
    return openai.OpenAI(
        # Local servers need no key but the SDK insists on one.
        api_key=settings.OPENAI_API_KEY or "not-needed",
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=settings.ENRICHMENT_TIMEOUT,
        max_retries=0,
    )


def endpoint_url() -> str:
    return settings.OPENAI_BASE_URL or "https://api.openai.com/v1"


_KEYLIKE = re.compile(r"\b(sk|key|api)[-_][A-Za-z0-9_\-*]{6,}", re.IGNORECASE)


def redact(text: str) -> str:
    """Remove the configured key, and anything that looks like a key, from a message."""
    key = settings.OPENAI_API_KEY
    if key and len(key) >= 4:
        text = text.replace(key, "[redacted]")
    return _KEYLIKE.sub("[redacted]", text)


def _provider_message(exc: openai.APIStatusError) -> str:
    message = exc.message
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            message = str(inner["message"])
        elif isinstance(inner, str):
            message = inner
    return redact(" ".join(str(message).split()))[:MAX_PROVIDER_MESSAGE]


def retry_after(response) -> float | None:
    """Seconds the provider asked us to wait (Retry-After, retry-after-ms), if any."""
    if response is None:
        return None
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


_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "structured output")
_CONTEXT_WORDS = ("context length", "context_length", "maximum context", "too many tokens")


def classify(exc: Exception, *, model: str) -> Exception:
    """The enrichment error for an SDK exception (returned, not raised)."""
    if isinstance(exc, openai.APITimeoutError):
        return TransientEnrichmentError(
            f"The provider did not answer within ENRICHMENT_TIMEOUT "
            f"({settings.ENRICHMENT_TIMEOUT:g} s)."
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        return TransientEnrichmentError(f"Could not reach the provider ({cause}).")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _provider_message(exc)
        code = str(getattr(exc, "code", "") or "").lower()
        lowered = detail.lower()
        if status in (408, 409, 429) or status >= 500:
            label = "rate limited" if status == 429 else "temporarily unavailable"
            return TransientEnrichmentError(
                f"Provider {label} (HTTP {status}): {detail}",
                retry_after=retry_after(exc.response),
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
        if "context_length" in code or any(word in lowered for word in _CONTEXT_WORDS):
            return PermanentEnrichmentError(
                f"The note does not fit the model's context window (HTTP {status}); lower "
                f"ENRICHMENT_MAX_INPUT_TOKENS so that long notes are split. {detail}"
            )
        if status in (400, 422) and any(word in lowered for word in _FORMAT_WORDS):
            return ResponseFormatRejected(f"response_format rejected (HTTP {status}): {detail}")
        return PermanentEnrichmentError(
            f"The provider rejected the request (HTTP {status}): {detail}"
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return TransientEnrichmentError("The provider sent a malformed response.")
    return exc


def chat(
    client: openai.OpenAI,
    *,
    model: str,
    messages: list[dict],
    response_format: dict | None,
    temperature: float = 0.2,
) -> Reply:
    """One chat completion request. Raises enrichment errors, never SDK errors."""
    params = {"model": model, "messages": messages, "temperature": temperature}
    if response_format is not None:
        params["response_format"] = response_format
    try:
        completion = client.chat.completions.create(**params)
    except openai.OpenAIError as exc:
        raise classify(exc, model=model) from exc
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
        model=completion.model or model,
    )
