"""The openai backend's pieces on their own: parsing, splitting, counting, error mapping,
configuration, and the guard that keeps tests off the network."""

import socket
from datetime import timedelta
from email.utils import format_datetime

import httpx2
import openai
import pytest
from django.core.checks import run_checks
from django.utils import timezone

from enrichment import llm_client
from enrichment.enrichers import openai as backend
from enrichment.enrichers.openai import (
    ParseError,
    configuration_problems,
    estimate_tokens,
    extract_json,
    split_text,
    strict_json_schema,
)
from enrichment.errors import PermanentEnrichmentError, TransientEnrichmentError
from enrichment.schema import Enrichment

VALID = '{"title": "T", "summary": "S", "tags": [], "action_items": [], "language": "en"}'


# --- Lenient parsing ---------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        VALID,
        f"```json\n{VALID}\n```",
        f"```\n{VALID}\n```",
        f"<think>I should answer {{ with care }}.</think>\n{VALID}",
        f"<THINKING>\nhmm\n</THINKING>{VALID}",
        f"Here you go:\n{VALID}\nLet me know if you need more.",
        f"Sure. {{not json}} and then {VALID}",
    ],
)
def test_the_json_object_is_found_in_what_models_really_send(reply):
    assert extract_json(reply)["title"] == "T"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("No JSON here at all.", "no JSON object found"),
        ('{"title": "T", "summary": ', "invalid JSON"),
        ("<think>only thinking, never answering", "no JSON object found"),
    ],
)
def test_unparseable_replies_raise_a_readable_error(reply, message):
    with pytest.raises(ParseError, match=message):
        extract_json(reply)


def test_the_strict_schema_is_generated_from_the_pydantic_model():
    schema = strict_json_schema()
    assert set(schema["properties"]) == set(Enrichment.model_fields)
    assert schema["required"] == list(Enrichment.model_fields)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["tags"] == {
        "type": "array",
        "description": Enrichment.model_fields["tags"].description,
        "items": {"type": "string"},
    }


def test_the_full_schema_bounds_every_string_and_list_as_validation_does():
    schema = backend.full_json_schema()

    def unbounded(spec, path):
        if spec["type"] == "string" and "maxLength" not in spec:
            yield path
        if spec["type"] == "array":
            if "maxItems" not in spec:
                yield path
            yield from unbounded(spec["items"], path + "[]")

    assert [p for n, s in schema["properties"].items() for p in unbounded(s, n)] == []
    tag = schema["properties"]["tags"]["items"]["maxLength"]
    item = schema["properties"]["action_items"]["items"]["maxLength"]
    valid = {"title": "t", "summary": "s", "tags": [], "action_items": [], "language": "en"}
    # What the bounds allow validates; longer tags and items are trimmed, not rejected.
    kept = Enrichment.model_validate({**valid, "tags": ["x" * tag], "action_items": ["y" * item]})
    assert (len(kept.tags[0]), len(kept.action_items[0])) == (tag, item)
    cut = Enrichment.model_validate(
        {**valid, "tags": ["x" * (tag + 9)], "action_items": ["y" * (item + 9)]}
    )
    assert (len(cut.tags[0]), len(cut.action_items[0])) == (tag, item)


# --- Splitting and counting ----------------------------------------------------------


def test_splitting_prefers_paragraph_boundaries_and_keeps_every_character():
    paragraphs = [f"Paragraph {i}. " + "word " * 40 for i in range(6)]
    text = "\n\n".join(paragraphs)
    parts = split_text(text, 120)
    assert "".join(parts) == text
    assert all(estimate_tokens(p) <= 120 for p in parts)
    assert all(p.startswith("Paragraph ") for p in parts)


def test_an_oversized_paragraph_is_split_at_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    parts = split_text(text, 50)
    assert "".join(parts) == text
    assert len(parts) > 1
    assert all(p.rstrip().endswith(".") for p in parts)


def test_text_without_any_boundary_is_still_cut_without_loss():
    text = "x" * 10_000
    parts = split_text(text, 100)
    assert "".join(parts) == text
    assert all(estimate_tokens(p) <= 100 for p in parts)


def test_a_boundaryless_run_of_uneven_density_is_cut_within_the_limit():
    text = "a" * 3000 + "!?" * 1500 + "b" * 3000
    parts = split_text(text, 100)
    assert "".join(parts) == text
    assert all(estimate_tokens(p) <= 100 for p in parts)


def test_a_short_note_is_one_part():
    assert split_text("Short note.", 100) == ["Short note."]


def test_the_estimate_errs_high_for_prose_and_non_latin_scripts():
    english = "The quick brown fox jumps over the lazy dog. " * 10
    # Real tokenizers give about 10 tokens per sentence of this kind.
    assert estimate_tokens(english) >= 100
    japanese = "今日は会議の準備をします。" * 10
    assert estimate_tokens(japanese) >= len(japanese)


def test_tiktoken_is_not_used_without_a_local_cache_so_nothing_is_downloaded(monkeypatch):
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    backend._tiktoken_encoding.cache_clear()
    try:
        assert backend._tiktoken_encoding("gpt-4o-mini") is None
    finally:
        backend._tiktoken_encoding.cache_clear()


def test_tiktoken_is_skipped_when_the_cache_lacks_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    backend._tiktoken_encoding.cache_clear()
    try:
        assert backend._tiktoken_encoding("gpt-4o-mini") is None
        assert backend._tiktoken_encoding("llama3.1:8b") is None  # unknown to tiktoken
    finally:
        backend._tiktoken_encoding.cache_clear()


# --- Error mapping -------------------------------------------------------------------


def status_error(status, message="boom", headers=None, code=None):
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    # The body as the SDK hands it over: the provider's "error" object.
    body = {"message": message, "code": code}
    cls = {429: openai.RateLimitError, 400: openai.BadRequestError}.get(
        status, openai.APIStatusError
    )
    return cls(message, response=response, body=body)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_transient(status):
    assert isinstance(
        llm_client.classify(status_error(status), model="m"), TransientEnrichmentError
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_permanent(status):
    error = llm_client.classify(status_error(status), model="m")
    assert isinstance(error, PermanentEnrichmentError)
    assert not isinstance(error, llm_client.ResponseFormatRejected)


def test_a_reply_llama_cpp_cannot_parse_is_retried_without_blaming_the_server():
    message = "The model produced output that does not match the expected peg-native format"
    error = llm_client.classify(status_error(500, message), model="m")
    assert isinstance(error, TransientEnrichmentError)
    assert not error.provider_wide
    assert "--no-jinja" in str(error)


def test_a_400_about_response_format_asks_for_a_simpler_mode():
    error = llm_client.classify(
        status_error(400, "response_format json_schema is not supported"), model="m"
    )
    assert isinstance(error, llm_client.ResponseFormatRejected)


def test_retry_after_in_seconds_milliseconds_or_as_a_date():
    assert (
        llm_client.classify(status_error(429, headers={"Retry-After": "7"}), model="m").retry_after
        == 7
    )
    assert (
        llm_client.classify(
            status_error(503, headers={"retry-after-ms": "1500"}), model="m"
        ).retry_after
        == 1.5
    )
    when = format_datetime(timezone.now() + timedelta(seconds=120), usegmt=True)
    delay = llm_client.classify(
        status_error(429, headers={"Retry-After": when}), model="m"
    ).retry_after
    assert 100 < delay <= 120
    assert llm_client.classify(status_error(429), model="m").retry_after is None


def test_keys_are_redacted_from_provider_messages(settings):
    settings.OPENAI_API_KEY = "my-own-secret-value"
    error = llm_client.classify(
        status_error(401, "Key my-own-secret-value rejected; also sk-proj-abcdef123456"), model="m"
    )
    assert "my-own-secret-value" not in str(error)
    assert "sk-proj-abcdef123456" not in str(error)


def test_the_client_does_not_retry_by_itself_and_uses_the_timeout(settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    settings.ENRICHMENT_TIMEOUT = 42
    client = llm_client.build_client()
    assert client.max_retries == 0
    assert client.timeout == 42


# --- Configuration -------------------------------------------------------------------


def test_configuration_problems_name_each_missing_variable(settings):
    settings.ENRICHMENT_BACKEND = "openai"
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_MODEL = ""
    problems = configuration_problems()
    assert len(problems) == 2
    assert problems[0].startswith("OPENAI_API_KEY is not set")
    assert problems[1].startswith("OPENAI_MODEL is not set")
    errors = [e for e in run_checks() if e.id == "enrichment.E001"]
    assert [e.msg for e in errors] == problems


def test_a_configured_or_unused_openai_backend_has_no_problems(settings):
    settings.ENRICHMENT_BACKEND = "openai"
    settings.OPENAI_API_KEY = "secret-key-value"
    settings.OPENAI_MODEL = "gpt-4o-mini"
    assert configuration_problems() == []
    settings.ENRICHMENT_BACKEND = "local"
    settings.OPENAI_MODEL = ""
    assert configuration_problems() == []


def test_problems_never_contain_the_key(settings):
    settings.ENRICHMENT_BACKEND = "openai"
    settings.OPENAI_API_KEY = "secret-key-value"
    settings.OPENAI_MODEL = ""
    assert "secret-key-value" not in " ".join(configuration_problems())


# --- The network guard ---------------------------------------------------------------


def test_the_guard_refuses_a_non_loopback_host_and_remembers_it(no_internet):
    with pytest.raises(ConnectionRefusedError, match="non-loopback"):
        socket.create_connection(("203.0.113.7", 443), timeout=1)
    assert no_internet == [("203.0.113.7", 443)]
    no_internet.clear()  # seen: let this one test pass


def test_the_guard_catches_a_client_that_would_swallow_the_error(no_internet, settings):
    settings.OPENAI_BASE_URL = "http://203.0.113.7/v1"
    settings.OPENAI_API_KEY = "k"
    with pytest.raises(TransientEnrichmentError):
        llm_client.chat(
            llm_client.build_client(),
            model="m",
            messages=[{"role": "user", "content": "x"}],
            response_format=None,
        )
    assert no_internet, "the attempt to leave the machine was not recorded"
    no_internet.clear()


def test_a_job_timeout_too_short_for_a_request_and_its_repair_is_flagged(settings):
    settings.ENRICHMENT_BACKEND = "openai"
    settings.OPENAI_API_KEY = "k-value"
    settings.OPENAI_MODEL = "m"
    settings.ENRICHMENT_TIMEOUT = 300
    settings.QUEUE_JOB_TIMEOUT = 500
    [warning] = [e for e in run_checks() if e.id == "enrichment.W001"]
    assert "QUEUE_JOB_TIMEOUT (500 s)" in warning.msg
    settings.QUEUE_JOB_TIMEOUT = 600
    assert [e for e in run_checks() if e.id == "enrichment.W001"] == []


def test_the_stub_reads_its_chaos_knobs_from_the_environment(monkeypatch):
    from tests.support.llm_stub import LLMStub

    monkeypatch.setenv("LLM_STUB_DELAY", "0.25")
    monkeypatch.setenv("LLM_STUB_FAILURE_RATE", "0.3")
    stub = LLMStub()
    assert (stub.delay, stub.failure_rate) == (0.25, 0.3)
    explicit = LLMStub(delay=0, failure_rate=0)
    assert (explicit.delay, explicit.failure_rate) == (0, 0)
