"""A fake OpenAI-compatible provider, so the tutorial runs with no key and no network.

`FakeProvider` answers the real ``openai`` SDK at the HTTP layer, so every error you see is the
SDK's own exception class, raised from a real status code, body and headers, exactly as it would
be against the real service::

    provider = FakeProvider({"sk-proj-FAKE...": "ok", "sk-proj-FAKE...2": "rate_limited"})
    client = provider.client("sk-proj-FAKE...")
    client.models.list()

Each key has a behaviour (`BEHAVIOURS`):

- ``ok``; ``invalid`` (401, as a revoked key); ``forbidden`` (403);
- ``missing_scope``: a restricted key without "Models: Read": ``models`` requests get OpenAI's 401
  "Missing scopes: api.model.read", chat completions work;
- ``rate_limited``: 429 with ``Retry-After``;
- ``quota_exhausted``: 429 ``insufficient_quota`` (OpenAI's older answer), and OpenAI's current
  codes, each a 429 of type ``insufficient_quota``: ``credit_balance_exhausted``,
  ``organization_spend_limit_exceeded``, ``project_spend_limit_exceeded``,
  ``organization_usage_limit_exceeded``;
- other providers' spent budgets: ``insufficient_credits`` (OpenRouter's 402) and ``usage_limits``
  (Anthropic's 400);
- ``server_error`` (500) or ``unreachable`` (the connection fails).

Requests are refused as the real API refuses them: a body that is not a JSON object (400), no
``model`` (400), no or empty ``messages`` (400), ``max_tokens`` below 1 (400), an unknown model or an
embedding model in a chat (404). ``stream=True`` gets server-sent chunks, with ``usage`` only when the
request sets ``stream_options={"include_usage": True}``, as the real API does.

A key the provider does not know gets 401. A behaviour may also be a list, consumed one request at
a time (the last one stays), to script a story: ``["ok", "ok", "rate_limited", "ok"]``.

**Never kinder than the real client.** ``httpx2.MockTransport`` hands the request to the fake
without the checks a real connection makes, so a key with a trailing newline would get a polite
401. Over a real socket (openai 3.51.0, httpx2 2.16.2) the HTTP library (h11) refuses to write that
header, and the SDK raises ``APIConnectionError("Connection error.")`` whose *chained* exception,
``LocalProtocolError: Illegal header value b'Bearer sk-...\\n'``, holds the whole key. The fake
runs the same h11 check before answering and raises the same chain. (A non-ASCII character, a
zero-width space or a typographic quote, fails earlier, in the SDK, with ``UnicodeEncodeError``
whose ``.object`` is the whole header; a leading space, a space or tab inside, or ASCII quotes reach
the server, which answers 401: see ``key_hygiene.py`` for the whole list.)
``tests/test_mock_provider.py`` checks each case against the real SDK and a local HTTP server.

Every request is recorded by the *fingerprint* of its key, never the key itself.

Needs: ``key_formats.py`` (fingerprints), and the ``openai``, ``httpx2``, ``httpcore2`` and ``h11``
libraries (the last two come with ``httpx2``).
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import h11
import httpcore2
import httpx2
import openai

from .key_formats import fingerprint

__all__ = [
    "BASE_URL", "Behaviour", "BEHAVIOURS", "CHAT_MODEL_IDS", "CREATED", "FakeProvider", "FakeProviderError",
    "InvalidRetryAfterError", "MODEL_IDS",
    "OPENAI_QUOTA_BEHAVIOURS", "RecordedRequest", "UnknownBehaviourError", "WireCheckingTransport",
]

Behaviour = Literal[
    "ok", "invalid", "forbidden", "missing_scope", "rate_limited", "quota_exhausted",
    "credit_balance_exhausted", "organization_spend_limit_exceeded", "project_spend_limit_exceeded",
    "organization_usage_limit_exceeded", "insufficient_credits", "usage_limits", "server_error",
    "unreachable",
]
BEHAVIOURS: tuple[str, ...] = get_args(Behaviour)
# The behaviours that answer like OpenAI's spent budgets: a 429 of type insufficient_quota, with the
# older code insufficient_quota ("quota_exhausted") or one of the current codes (named as the code).
OPENAI_QUOTA_BEHAVIOURS = ("quota_exhausted", "credit_balance_exhausted", "organization_spend_limit_exceeded",
                      "project_spend_limit_exceeded", "organization_usage_limit_exceeded")

BASE_URL = "https://fake-llm.invalid/v1"  # .invalid never resolves: nothing can leave the machine
MODEL_IDS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small")
CHAT_MODEL_IDS = tuple(model for model in MODEL_IDS if not model.startswith("text-embedding"))
CREATED = 1_764_201_600  # a fixed timestamp keeps every response, and so every notebook output, stable

_QUOTA_MESSAGE = ("You exceeded your current quota, please check your plan and billing details. For more "
                  "information on this error, read the docs: "
                  "https://platform.openai.com/docs/guides/error-codes/api-errors.")
_SCOPE_MESSAGE = ("You have insufficient permissions for this operation. Missing scopes: api.model.read. "
                  "Check that you have the correct role in your organization (Reader, Writer, Owner) and "
                  "project (Member, Owner), and if you're using a restricted API key, that it has the "
                  "necessary scopes.")
_ANTHROPIC_LIMITS = ("You have reached your specified API usage limits. You will regain access on "
                     "2025-12-01 at 00:00 UTC.")
_OPENROUTER_CREDITS = "Insufficient credits. Add more using https://openrouter.ai/credits"
_NOT_JSON = ("We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
             "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
             "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
             "help center at help.openai.com.)")
_NOT_CHAT = ("This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you "
             "mean to use v1/completions?")


class FakeProviderError(Exception):
    """Base class of this module's errors."""


class UnknownBehaviourError(FakeProviderError, ValueError):
    """A behaviour name that FakeProvider does not know."""


class InvalidRetryAfterError(FakeProviderError, ValueError):
    """A ``retry_after`` no server would send: negative, infinite, not a number."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake provider answered: what, for which key (by fingerprint), and how."""

    method: str
    path: str
    key_fingerprint: str | None
    status: int


class WireCheckingTransport(httpx2.MockTransport):
    """``httpx2.MockTransport`` that first checks the request as a real HTTP/1.1 connection does."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        _check_on_the_wire(request)
        return super().handle_request(request)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        _check_on_the_wire(request)
        return await super().handle_async_request(request)


def _check_on_the_wire(request: httpx2.Request) -> None:
    """Raise what httpx2's real transport raises for a request h11 will not write.

    The chain is the real one: httpx2.LocalProtocolError <- httpcore2.LocalProtocolError <-
    h11.LocalProtocolError (httpx2/_transports/default.py and httpcore2/_exceptions.py map it so).
    """
    try:
        try:
            h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw)
        except h11.LocalProtocolError as exc:
            raise httpcore2.LocalProtocolError(exc) from exc
    except httpcore2.LocalProtocolError as exc:
        raise httpx2.LocalProtocolError(str(exc)) from exc


def _error(
    status: int, message: str, type_: str, code: str | None, headers: Mapping[str, str] | None = None,
    *, param: str | None = None,
) -> httpx2.Response:
    """An error response shaped like OpenAI's: ``{"error": {message, type, param, code}}``."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return httpx2.Response(status, json=body, headers=dict(headers or {}))


def _masked(key: str) -> str:
    # The real service echoes a masked key in its 401 message; so do we (last four characters).
    return f"{key[:8]}{'*' * 20}{key[-4:]}" if len(key) > 16 else "****"


class FakeProvider:
    """An OpenAI-compatible fake with per-key behaviours. Thread-safe.

    behaviours: ``{api_key: behaviour}``; a behaviour is a name from `BEHAVIOURS` or a list of
    names consumed one request at a time.
    retry_after: seconds sent in ``Retry-After`` (and ``retry-after-ms``) with rate-limit 429s.
    """

    def __init__(
        self,
        behaviours: Mapping[str, str | Iterable[str]] | None = None,
        *,
        retry_after: float = 20.0,
        base_url: str = BASE_URL,
    ) -> None:
        if not (isinstance(retry_after, int | float) and math.isfinite(retry_after * 1000)
                and retry_after >= 0):
            raise InvalidRetryAfterError(f"retry_after must be a finite number of seconds >= 0, "
                                         f"got {retry_after!r}")
        self.base_url = base_url
        self.retry_after = retry_after
        self.requests: list[RecordedRequest] = []
        self._scripts: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._completions = 0
        for key, behaviour in (behaviours or {}).items():
            self.set(key, behaviour)

    def set(self, api_key: str, behaviour: str | Iterable[str]) -> None:
        """Give `api_key` a new behaviour from now on (revoke a key: ``set(key, "invalid")``)."""
        script = [behaviour] if isinstance(behaviour, str) else list(behaviour)
        unknown = [name for name in script if name not in BEHAVIOURS]
        if not script or unknown:
            raise UnknownBehaviourError(
                f"unknown behaviour {unknown or script!r} for key {fingerprint(api_key)}; "
                f"choose from: {', '.join(BEHAVIOURS)}"
            )
        with self._lock:
            self._scripts[api_key] = script

    def remove(self, api_key: str) -> None:
        """Forget `api_key`: from now on it is unknown, and so refused with 401."""
        with self._lock:
            self._scripts.pop(api_key, None)

    # -- clients -----------------------------------------------------------------------------

    # `openai_kwargs` are passed on to the SDK's constructor as they are (timeout, default_headers, ...):
    # its own signature types them.
    def client(self, api_key: str | Callable[[], str], **openai_kwargs: Any) -> openai.OpenAI:
        """A real ``openai.OpenAI`` whose HTTP traffic goes to this fake.

        `api_key` may be a string or a callable (the SDK resolves it before each request).
        `openai_kwargs` go to ``openai.OpenAI``. The SDK's own retries are off by default
        (``max_retries=0``): they would sleep for the ``Retry-After`` time; pass ``max_retries=2``
        to watch them.
        """
        openai_kwargs.setdefault("max_retries", 0)
        http_client = httpx2.Client(transport=WireCheckingTransport(self.handle))
        return openai.OpenAI(api_key=api_key, base_url=self.base_url, http_client=http_client,
                             **openai_kwargs)

    def async_client(
        self, api_key: str | Callable[[], Awaitable[str]], **openai_kwargs: Any
    ) -> openai.AsyncOpenAI:
        """The ``openai.AsyncOpenAI`` twin of `client` (a callable key must be a coroutine function)."""
        openai_kwargs.setdefault("max_retries", 0)
        http_client = httpx2.AsyncClient(transport=WireCheckingTransport(self.handle))
        return openai.AsyncOpenAI(api_key=api_key, base_url=self.base_url, http_client=http_client,
                                  **openai_kwargs)

    # -- what was asked ----------------------------------------------------------------------

    def requests_by_key(self) -> Counter[str | None]:
        """How many requests each key (by fingerprint) made."""
        with self._lock:
            return Counter(r.key_fingerprint for r in self.requests)

    # -- the HTTP side -----------------------------------------------------------------------

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one HTTP request as the real provider would (the transport's handler)."""
        api_key = _bearer_token(request)
        behaviour = self._next_behaviour(api_key)
        if behaviour == "unreachable":
            self._record(request, api_key, 0)
            raise httpx2.ConnectError("fake provider: connection refused", request=request)
        response = self._respond(request, api_key, behaviour)
        self._record(request, api_key, response.status_code)
        return response

    def _next_behaviour(self, api_key: str | None) -> str | None:
        with self._lock:
            script = self._scripts.get(api_key or "")
            if script is None:
                return None
            return script.pop(0) if len(script) > 1 else script[0]

    def _record(self, request: httpx2.Request, api_key: str | None, status: int) -> None:
        fp = fingerprint(api_key) if api_key else None
        with self._lock:
            self.requests.append(RecordedRequest(request.method, request.url.path, fp, status))

    def _respond(
        self, request: httpx2.Request, api_key: str | None, behaviour: str | None
    ) -> httpx2.Response:
        if api_key is None:
            return _error(401, "You didn't provide an API key. You need to provide your API key in an "
                          "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                          "invalid_request_error", None)
        if behaviour in (None, "invalid"):
            return _error(401, f"Incorrect API key provided: {_masked(api_key)}. You can find your API "
                          "key at https://platform.openai.com/account/api-keys.",
                          "invalid_request_error", "invalid_api_key")
        refusal = self._refusal(request, behaviour)
        return refusal if refusal is not None else self._route(request)

    def _refusal(self, request: httpx2.Request, behaviour: str | None) -> httpx2.Response | None:
        """The error answer for `behaviour`, or None when the request is served."""
        if behaviour == "forbidden":
            return _error(403, "You have insufficient permissions for this operation.",
                          "invalid_request_error", "insufficient_permissions")
        if behaviour == "missing_scope" and request.url.path.removeprefix("/v1").startswith("/models"):
            return _error(401, _SCOPE_MESSAGE, "invalid_request_error", None)
        if behaviour == "rate_limited":
            return self._rate_limited()
        if behaviour in OPENAI_QUOTA_BEHAVIOURS:
            code = "insufficient_quota" if behaviour == "quota_exhausted" else behaviour
            return _error(429, _QUOTA_MESSAGE, "insufficient_quota", code)
        if behaviour == "insufficient_credits":  # OpenRouter's shape: a number as the code
            return httpx2.Response(402, json={"error": {"code": 402, "message": _OPENROUTER_CREDITS}})
        if behaviour == "usage_limits":  # Anthropic's shape
            body = {"type": "error", "error": {"type": "invalid_request_error", "message": _ANTHROPIC_LIMITS}}
            return httpx2.Response(400, json=body)
        if behaviour == "server_error":
            return _error(500, "The server had an error while processing your request. Sorry about that!",
                          "server_error", None)
        return None

    def _rate_limited(self) -> httpx2.Response:
        headers = {"retry-after": f"{self.retry_after:g}", "retry-after-ms": f"{self.retry_after * 1000:.0f}",
                   "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0"}
        return _error(429, "Rate limit reached for requests per min (RPM): Limit 3, Used 3, "
                      f"Requested 1. Please try again in {self.retry_after:g}s.",
                      "requests", "rate_limit_exceeded", headers)

    def _route(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path.removeprefix("/v1")
        if request.method == "GET" and path == "/models":
            return httpx2.Response(200, json={"object": "list", "data": [_model(m) for m in MODEL_IDS]})
        if request.method == "GET" and path.startswith("/models/"):
            model_id = path.removeprefix("/models/")
            if model_id in MODEL_IDS:
                return httpx2.Response(200, json=_model(model_id))
            return _error(404, f"The model '{model_id}' does not exist", "invalid_request_error",
                          "model_not_found")
        if request.method == "POST" and path == "/chat/completions":
            return self._chat(request.content)
        return _error(404, f"Unknown request URL: {request.method} {request.url.path}.",
                      "invalid_request_error", "unknown_url")

    def _chat(self, content: bytes) -> httpx2.Response:
        """A chat completion, or the real API's refusal; a stream when the request asks for one."""
        try:
            body = json.loads(content)
        except ValueError:  # not JSON, or bytes that are not text
            body = None
        if not isinstance(body, dict):  # not JSON, or JSON but not an object
            return _error(400, _NOT_JSON, "invalid_request_error", None)
        refusal = _chat_refusal(body)
        if refusal is not None:
            return refusal
        completion = self._completion(body)
        if body.get("stream") is True:
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            return _stream(completion, include_usage=include_usage)
        return httpx2.Response(200, json=completion)

    def _completion(self, body: object) -> dict[str, object]:
        """A chat completion for the request's JSON `body`, with a ``usage`` block."""
        with self._lock:
            self._completions += 1
            number = self._completions
        request = body if isinstance(body, dict) else {}
        messages = [m for m in request.get("messages", []) if isinstance(m, dict)]
        prompt = " ".join(str(m.get("content", "")) for m in messages)
        words = f"This is a fake reply from the tutorial's provider to: {prompt}".split()
        asked = request.get("max_completion_tokens") or request.get("max_tokens")
        limit = asked if isinstance(asked, int) else len(words)
        reply, finish = words[:limit], "stop" if limit >= len(words) else "length"
        prompt_tokens = len(prompt.split()) + 4 * len(messages)
        model = request.get("model")
        return {
            "id": f"chatcmpl-fake-{number:06d}",
            "object": "chat.completion",
            "created": CREATED,
            "model": model if isinstance(model, str) else MODEL_IDS[0],
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": " ".join(reply)}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply),
                      "total_tokens": prompt_tokens + len(reply)},
        }


def _chat_refusal(body: dict[str, Any]) -> httpx2.Response | None:
    """The real API's answer to a chat request it will not serve (400 or 404), or None."""
    invalid = "invalid_request_error"
    model, messages = body.get("model"), body.get("messages")
    if not model:
        return _error(400, "you must provide a model parameter", invalid, None)
    if messages is None:
        return _error(400, "Missing required parameter: 'messages'.", invalid, "missing_required_parameter",
                      param="messages")
    if messages == []:
        return _error(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but "
                      "got an empty array instead.", invalid, "empty_array", param="messages")
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if isinstance(value, int) and value < 1:
            return _error(400, f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but "
                          f"got {value} instead.", invalid, "integer_below_min_value", param=name)
    if model not in MODEL_IDS:
        return _error(404, f"The model `{model}` does not exist or you do not have access to it.", invalid,
                      "model_not_found")
    if model not in CHAT_MODEL_IDS:
        return _error(404, _NOT_CHAT, invalid, None, param="model")
    return None


def _stream(completion: dict[str, Any], *, include_usage: bool) -> httpx2.Response:
    """`completion` as the server-sent events of ``stream=True``: a role, the words, the finish; then,
    only if the request set ``stream_options={"include_usage": True}``, a last chunk with ``usage``."""
    head = {key: completion[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    choice = completion["choices"][0]
    words = choice["message"]["content"].split(" ")
    deltas = [{"role": "assistant", "content": ""},
              *({"content": word if n == 0 else f" {word}"} for n, word in enumerate(words))]
    finals = [(d, None) for d in deltas] + [({}, choice["finish_reason"])]
    chunks = [head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
              for delta, finish in finals]
    if include_usage:
        chunks = [chunk | {"usage": None} for chunk in chunks] + [head | {"choices": [],
                                                                       "usage": completion["usage"]}]
    events = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    return httpx2.Response(200, content=events.encode(), headers={"content-type": "text/event-stream"})


def _model(model_id: str) -> dict[str, object]:
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": "fake-provider"}


def _bearer_token(request: httpx2.Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None
