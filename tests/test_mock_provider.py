"""Tests for helpers.mock_provider: the real SDK sees real status codes, bodies and headers."""

from __future__ import annotations

import asyncio

import openai
import pytest

from helpers.key_formats import fake_key, fingerprint
from helpers.mock_provider import (
    BEHAVIOURS,
    MODEL_IDS,
    FakeProvider,
    RecordedRequest,
    UnknownBehaviourError,
)

KEY = fake_key("openai-project", 0)
OTHER = fake_key("openai-project", 1)


def chat(client: openai.OpenAI, text: str = "hello there", **kwargs):
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **kwargs
    )


def test_ok_key_lists_models_and_chats_with_usage() -> None:
    provider = FakeProvider({KEY: "ok"})
    client = provider.client(KEY)
    assert [m.id for m in client.models.list()] == list(MODEL_IDS)
    reply = chat(client)
    assert reply.choices[0].message.content.endswith("hello there")
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0


def test_replies_are_deterministic_and_respect_max_tokens() -> None:
    first, second = FakeProvider({KEY: "ok"}), FakeProvider({KEY: "ok"})
    a, b = chat(first.client(KEY)), chat(second.client(KEY))
    assert a.model_dump() == b.model_dump()
    short = chat(first.client(KEY), max_tokens=3)
    assert short.usage.completion_tokens == 3
    assert short.choices[0].finish_reason == "length"


@pytest.mark.parametrize(
    ("behaviour", "exception", "status", "code"),
    [
        ("invalid", openai.AuthenticationError, 401, "invalid_api_key"),
        ("forbidden", openai.PermissionDeniedError, 403, "insufficient_permissions"),
        ("rate_limited", openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("quota_exhausted", openai.RateLimitError, 429, "insufficient_quota"),
        ("server_error", openai.InternalServerError, 500, None),
    ],
)
def test_each_failure_raises_the_sdks_own_exception(behaviour, exception, status, code) -> None:
    provider = FakeProvider({KEY: behaviour})
    with pytest.raises(exception) as caught:
        provider.client(KEY).models.list()
    assert caught.value.status_code == status
    assert caught.value.code == code
    assert provider.requests == [RecordedRequest("GET", "/v1/models", fingerprint(KEY), status)]


def test_rate_limit_sends_retry_after_in_seconds_and_milliseconds() -> None:
    provider = FakeProvider({KEY: "rate_limited"}, retry_after=7.5)
    with pytest.raises(openai.RateLimitError) as caught:
        chat(provider.client(KEY))
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("7.5", "7500")


def test_unreachable_is_a_connection_error() -> None:
    provider = FakeProvider({KEY: "unreachable"})
    with pytest.raises(openai.APIConnectionError):
        provider.client(KEY).models.list()
    assert provider.requests[0].status == 0


def test_unknown_key_is_refused_and_the_message_masks_it() -> None:
    provider = FakeProvider({KEY: "ok"})
    with pytest.raises(openai.AuthenticationError) as caught:
        provider.client(OTHER).models.list()
    assert OTHER not in str(caught.value)
    assert OTHER[-4:] in str(caught.value)  # like the real service: only the last four


def test_a_script_of_behaviours_is_consumed_in_order_and_the_last_one_stays() -> None:
    provider = FakeProvider({KEY: ["ok", "rate_limited", "ok"]})
    client = provider.client(KEY)
    client.models.list()
    with pytest.raises(openai.RateLimitError):
        client.models.list()
    client.models.list()
    client.models.list()
    assert [r.status for r in provider.requests] == [200, 429, 200, 200]


def test_set_and_remove_change_a_key_mid_story() -> None:
    provider = FakeProvider({KEY: "ok"})
    client = provider.client(KEY)
    client.models.list()
    provider.set(KEY, "invalid")
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    provider.set(KEY, "ok")
    provider.remove(KEY)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_unknown_behaviour_is_refused_naming_the_choices_not_the_key() -> None:
    with pytest.raises(UnknownBehaviourError) as caught:
        FakeProvider({KEY: "sometimes"})
    message = str(caught.value)
    assert "sometimes" in message and "rate_limited" in message
    assert KEY not in message and fingerprint(KEY) in message
    assert set(BEHAVIOURS) >= {"ok", "invalid", "rate_limited", "quota_exhausted", "server_error"}


def test_requests_are_recorded_by_fingerprint_never_by_key() -> None:
    provider = FakeProvider({KEY: "ok", OTHER: "ok"})
    provider.client(KEY).models.list()
    provider.client(OTHER).models.list()
    provider.client(OTHER).models.list()
    assert provider.requests_by_key() == {fingerprint(KEY): 1, fingerprint(OTHER): 2}
    assert KEY not in repr(provider.requests)


def test_a_callable_api_key_is_resolved_per_request() -> None:
    provider = FakeProvider({KEY: "ok", OTHER: "ok"})
    keys = iter([KEY, OTHER, KEY])
    client = provider.client(lambda: next(keys))
    for _ in range(3):
        client.models.list()
    assert [r.key_fingerprint for r in provider.requests] == [fingerprint(k) for k in (KEY, OTHER, KEY)]


def test_sdk_retries_are_off_unless_asked_for() -> None:
    provider = FakeProvider({KEY: "server_error"})
    with pytest.raises(openai.InternalServerError):
        provider.client(KEY).models.list()
    assert len(provider.requests) == 1


def test_async_client_talks_to_the_same_fake() -> None:
    provider = FakeProvider({KEY: "ok", OTHER: "quota_exhausted"})

    async def scenario() -> tuple[str, int]:
        reply = await provider.async_client(KEY).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        try:
            await provider.async_client(OTHER).models.list()
        except openai.RateLimitError as err:
            return reply.model, err.status_code
        raise AssertionError("quota_exhausted key was accepted")

    assert asyncio.run(scenario()) == ("gpt-4o", 429)


def test_unknown_path_and_model_are_404() -> None:
    client = FakeProvider({KEY: "ok"}).client(KEY)
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-0")
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"
