"""Tests for helpers.mock_provider: the real SDK sees real status codes, bodies and headers, and a
key the real client cannot send fails through the fake exactly as over a real socket."""

from __future__ import annotations

import asyncio
import http.server
import json
import math
import threading
import traceback
from collections.abc import Iterator

import h11
import httpx2
import openai
import pytest

from helpers.key_formats import fake_key, fingerprint
from helpers.mock_provider import (
    BEHAVIOURS,
    MODEL_IDS,
    OPENAI_QUOTA_BEHAVIOURS,
    FakeProvider,
    FakeProviderError,
    InvalidRetryAfterError,
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


@pytest.mark.claims
@pytest.mark.parametrize(
    ("behaviour", "exception", "status", "code"),
    [
        ("invalid", openai.AuthenticationError, 401, "invalid_api_key"),
        ("forbidden", openai.PermissionDeniedError, 403, "insufficient_permissions"),
        ("rate_limited", openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("missing_scope", openai.AuthenticationError, 401, None),
        ("quota_exhausted", openai.RateLimitError, 429, "insufficient_quota"),
        *((name, openai.RateLimitError, 429, name) for name in OPENAI_QUOTA_BEHAVIOURS[1:]),
        ("insufficient_credits", openai.APIStatusError, 402, "402"),  # OpenRouter's number, as a str
        ("usage_limits", openai.BadRequestError, 400, None),
        ("server_error", openai.InternalServerError, 500, None),
    ],
)
def test_each_failure_raises_the_sdks_own_exception(behaviour, exception, status, code) -> None:
    provider = FakeProvider({KEY: behaviour})
    with pytest.raises(exception) as caught:
        provider.client(KEY).models.list()
    assert type(caught.value) is exception
    assert caught.value.status_code == status
    assert caught.value.code == code
    assert provider.requests == [RecordedRequest("GET", "/v1/models", fingerprint(KEY), status)]


@pytest.mark.parametrize("behaviour", OPENAI_QUOTA_BEHAVIOURS)
def test_every_openai_quota_answer_has_the_type_insufficient_quota(behaviour) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        FakeProvider({KEY: behaviour}).client(KEY).models.list()
    assert caught.value.type == "insufficient_quota"
    assert "retry-after" not in caught.value.response.headers


def test_other_providers_spent_budgets_have_their_own_shapes() -> None:
    with pytest.raises(openai.APIStatusError) as credits:
        FakeProvider({KEY: "insufficient_credits"}).client(KEY).models.list()
    assert credits.value.message == "Error code: 402 - Insufficient credits. Add more using https://openrouter.ai/credits"
    with pytest.raises(openai.BadRequestError) as limits:
        FakeProvider({KEY: "usage_limits"}).client(KEY).models.list()
    assert limits.value.type == "invalid_request_error"
    assert "You have reached your specified API usage limits" in limits.value.message


def test_a_key_missing_models_read_is_refused_models_but_may_chat() -> None:
    provider = FakeProvider({KEY: "missing_scope"})
    client = provider.client(KEY)
    with pytest.raises(openai.AuthenticationError, match="Missing scopes: api.model.read") as caught:
        client.models.list()
    assert caught.value.type == "invalid_request_error"
    with pytest.raises(openai.AuthenticationError):
        client.models.retrieve("gpt-4o")
    assert chat(client).choices[0].message.content
    assert [r.status for r in provider.requests] == [401, 401, 200]


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
    assert issubclass(UnknownBehaviourError, FakeProviderError)
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


@pytest.mark.claims
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


# -- never kinder than the real client: keys it cannot send ---------------------------------------

@pytest.fixture(scope="module")
def real_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that answers like OpenAI to a key it does not know (401)."""
    class Provider(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            error = {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                     "param": None, "code": "invalid_api_key"}
            body = json.dumps({"error": error}).encode()
            self.send_response(401)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def chain_of(error: BaseException) -> list[type[BaseException]]:
    """The exception and everything chained behind it, as classes."""
    classes: list[type[BaseException]] = []
    current: BaseException | None = error
    while current is not None:
        classes.append(type(current))
        current = current.__cause__ or current.__context__
    return classes


def failure_of(make_client, key: str) -> BaseException:
    with pytest.raises(Exception) as caught:
        make_client(key).models.list()
    return caught.value


PASTED = {
    "trailing newline": (KEY + "\n", openai.APIConnectionError),
    "trailing space": (KEY + " ", openai.APIConnectionError),
    "trailing CRLF": (KEY + "\r\n", openai.APIConnectionError),
    "leading newline": ("\n" + KEY, openai.APIConnectionError),
    "NUL inside": (KEY[:20] + "\x00" + KEY[20:], openai.APIConnectionError),
    "zero-width space": (KEY[:20] + "\u200b" + KEY[20:], UnicodeEncodeError),
    "typographic quotes": ("\u201c" + KEY + "\u201d", UnicodeEncodeError),
    "byte-order mark": ("\ufeff" + KEY, UnicodeEncodeError),
    "Cyrillic a": (KEY[:20] + "\u0430" + KEY[21:], UnicodeEncodeError),
    "leading space": (" " + KEY, openai.AuthenticationError),
    "ASCII quotes": (f'"{KEY}"', openai.AuthenticationError),
    "tab inside": (KEY[:20] + "\t" + KEY[20:], openai.AuthenticationError),
    "leading tab": ("\t" + KEY, openai.AuthenticationError),
    "trailing tab": (KEY + "\t", openai.APIConnectionError),
    "vertical tab inside": (KEY[:20] + "\x0b" + KEY[20:], openai.APIConnectionError),
    "control character inside": (KEY[:20] + "\x01" + KEY[20:], openai.AuthenticationError),
}


@pytest.mark.claims
@pytest.mark.parametrize("how", list(PASTED))
def test_the_fake_fails_like_the_real_sdk_over_a_real_socket(real_server, how) -> None:
    key, expected = PASTED[how]
    real = failure_of(lambda k: openai.OpenAI(api_key=k, base_url=real_server, max_retries=0), key)
    fake = failure_of(FakeProvider({KEY: "ok"}).client, key)  # the fake knows the clean key
    assert chain_of(real) == chain_of(fake)
    assert type(fake) is expected


UNSENDABLE = [how for how, (_, expected) in PASTED.items() if expected is openai.APIConnectionError]


@pytest.mark.claims
@pytest.mark.parametrize("how", UNSENDABLE)
def test_the_chained_error_of_an_unsendable_key_holds_the_whole_key(real_server, how) -> None:
    key, _ = PASTED[how]
    for make_client in (lambda k: openai.OpenAI(api_key=k, base_url=real_server, max_retries=0),
                        FakeProvider({}).client):
        error = failure_of(make_client, key)
        assert str(error) == "Connection error."  # the SDK's own message is clean...
        assert chain_of(error)[-1] is h11.LocalProtocolError
        shown = "".join(traceback.format_exception(error))  # ...what a traceback prints is not
        assert "Illegal header value" in shown and KEY[8:20] in shown and KEY[20:] in shown


@pytest.mark.claims
def test_a_non_ascii_key_fails_before_sending_with_the_whole_header_in_the_error(real_server) -> None:
    key = KEY[:20] + "\u200b" + KEY[20:]
    for make_client in (lambda k: openai.OpenAI(api_key=k, base_url=real_server, max_retries=0),
                        FakeProvider({}).client):
        error = failure_of(make_client, key)
        assert isinstance(error, UnicodeEncodeError)
        assert error.object == "Bearer " + key  # .object: what a debugger or Sentry shows


@pytest.mark.claims
def test_the_async_fake_fails_like_the_async_sdk_over_a_real_socket(real_server) -> None:
    key = KEY + "\n"

    async def failure(client: openai.AsyncOpenAI) -> BaseException:
        try:
            await client.models.list()
        except Exception as error:
            return error
        raise AssertionError("the request was sent")

    real = asyncio.run(failure(openai.AsyncOpenAI(api_key=key, base_url=real_server, max_retries=0)))
    fake = asyncio.run(failure(FakeProvider({key: "ok"}).async_client(key)))
    assert chain_of(real) == chain_of(fake) and type(fake) is openai.APIConnectionError


def test_an_unsendable_key_reaches_the_fake_provider_never() -> None:
    provider = FakeProvider({KEY + "\n": "ok"})
    with pytest.raises(openai.APIConnectionError):
        provider.client(KEY + "\n").models.list()
    assert provider.requests == []


def test_a_request_without_a_key_and_an_unknown_path_get_the_providers_answers() -> None:
    provider = FakeProvider({KEY: "ok"})
    anonymous = provider.handle(httpx2.Request("GET", f"{provider.base_url}/models"))
    assert anonymous.status_code == 401
    assert "didn't provide an API key" in anonymous.json()["error"]["message"]
    nowhere = provider.handle(httpx2.Request("GET", f"{provider.base_url}/nowhere",
                                             headers={"Authorization": f"Bearer {KEY}"}))
    assert (nowhere.status_code, nowhere.json()["error"]["code"]) == (404, "unknown_url")
    assert [r.key_fingerprint for r in provider.requests] == [None, fingerprint(KEY)]


def test_a_short_unknown_key_is_masked_whole() -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        FakeProvider({}).client("sk-short-1234").models.list()
    assert "****" in str(caught.value) and "1234" not in str(caught.value)


# -- never kinder than the real API: requests it refuses ------------------------------------------------
# Answers as the real API gives them (quoted in public reports: github.com/OpenBMB/ChatDev/issues/446,
# github.com/ChatGPTNextWeb/NextChat/issues/4064, github.com/Aider-AI/aider/issues/1903).


def raw_chat(body: bytes | None = None, **json_body: object) -> httpx2.Response:
    """POST /v1/chat/completions straight to the fake, with a body the SDK would never build."""
    http = httpx2.Client(transport=httpx2.MockTransport(FakeProvider({KEY: "ok"}).handle))
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    if body is None:
        return http.post("https://fake-llm.invalid/v1/chat/completions", json=json_body, headers=headers)
    return http.post("https://fake-llm.invalid/v1/chat/completions", content=body, headers=headers)


HELLO = [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize(("body", "status", "param", "code", "words"), [
    (b"{not json", 400, None, None, "We could not parse the JSON body of your request."),
    (b"\xff\xfe", 400, None, None, "We could not parse the JSON body of your request."),
    (b"", 400, None, None, "We could not parse the JSON body of your request."),
    (b"[1, 2]", 400, None, None, "We could not parse the JSON body of your request."),
    (b'{"messages": [{"role": "user", "content": "hi"}]}', 400, None, None,
     "you must provide a model parameter"),
    (b'{"model": "gpt-4o-mini"}', 400, "messages", "missing_required_parameter",
     "Missing required parameter: 'messages'."),
    (b'{"model": "gpt-4o-mini", "messages": []}', 400, "messages", "empty_array",
     "Invalid 'messages': empty array."),
    (b'{"model": "gpt-nope", "messages": [{"role": "user", "content": "hi"}]}', 404, None,
     "model_not_found", "The model `gpt-nope` does not exist or you do not have access to it."),
])
def test_a_chat_request_the_real_api_refuses_is_refused_the_same_way(body, status, param, code, words):
    answer = raw_chat(body)
    error = answer.json()["error"]
    assert (answer.status_code, error["param"], error["code"], error["type"]) == \
        (status, param, code, "invalid_request_error")
    assert error["message"].startswith(words)


@pytest.mark.parametrize("name", ["max_tokens", "max_completion_tokens"])
@pytest.mark.parametrize("value", [0, -3])
def test_a_token_limit_below_one_is_refused_as_the_real_api_does(name, value) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(FakeProvider({KEY: "ok"}).client(KEY), **{name: value})
    assert caught.value.status_code == 400 and caught.value.code == "integer_below_min_value"
    assert caught.value.param == name
    assert f"Expected a value >= 1, but got {value} instead." in caught.value.message


def test_an_unknown_or_embedding_model_is_refused_by_the_sdk_as_not_found() -> None:
    client = FakeProvider({KEY: "ok"}).client(KEY)
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-nope", messages=HELLO)
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError, match="not a chat model"):
        client.chat.completions.create(model="text-embedding-3-small", messages=HELLO)


def test_a_stream_arrives_in_chunks_with_usage_only_when_asked_for() -> None:
    client = FakeProvider({KEY: "ok"}).client(KEY)
    plain = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    whole = chat(client, "hello")
    assert len(plain) > 2 and all(chunk.object == "chat.completion.chunk" for chunk in plain)
    assert "".join(c.choices[0].delta.content or "" for c in plain) == whole.choices[0].message.content
    assert plain[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in plain)  # no usage unless include_usage
    counted = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True,
                                                  stream_options={"include_usage": True}))
    assert counted[-1].choices == [] and counted[-1].usage is not None
    assert counted[-1].usage.model_dump() == whole.usage.model_dump()
    assert all(chunk.usage is None for chunk in counted[:-1])


@pytest.mark.parametrize("seconds", [-5, math.nan, math.inf, 1e308, "20", None])
def test_a_retry_after_no_server_would_send_is_refused(seconds) -> None:
    with pytest.raises(InvalidRetryAfterError, match="retry_after must be"):
        FakeProvider({KEY: "rate_limited"}, retry_after=seconds)
    assert issubclass(InvalidRetryAfterError, FakeProviderError)
    assert issubclass(InvalidRetryAfterError, ValueError)
