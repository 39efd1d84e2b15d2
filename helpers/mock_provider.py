"""A fake OpenAI-compatible provider, so the tutorial runs with no key and no network.

`FakeProvider` answers the real ``openai`` SDK at the HTTP layer (through ``httpx2.MockTransport``),
so every error you see is the SDK's own exception class, raised from a real status code, body
and headers, exactly as it would be against the real service::

    provider = FakeProvider({"sk-proj-FAKE...": "ok", "sk-proj-FAKE...2": "rate_limited"})
    client = provider.client("sk-proj-FAKE...")
    client.models.list()

Each key has a behaviour: ``ok``, ``invalid`` (401), ``forbidden`` (403), ``rate_limited``
(429 with ``Retry-After``), ``quota_exhausted`` (429 ``insufficient_quota``), ``server_error``
(500) or ``unreachable`` (the connection fails). A key the provider does not know gets 401, as
a revoked key would. A behaviour may also be a list, consumed one request at a time (the last one
stays), to script a story: ``["ok", "ok", "rate_limited", "ok"]``.

Every request is recorded by the *fingerprint* of its key, never the key itself.

Needs: ``key_formats.py`` (fingerprints), and the ``openai`` and ``httpx2`` libraries.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import httpx2
import openai

from .key_formats import fingerprint

__all__ = [
    "BASE_URL", "Behaviour", "BEHAVIOURS", "CREATED", "FakeProvider", "MODEL_IDS", "RecordedRequest",
    "UnknownBehaviourError",
]

Behaviour = Literal[
    "ok", "invalid", "forbidden", "rate_limited", "quota_exhausted", "server_error", "unreachable"
]
BEHAVIOURS: tuple[str, ...] = get_args(Behaviour)

BASE_URL = "https://fake-llm.invalid/v1"  # .invalid never resolves: nothing can leave the machine
MODEL_IDS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small")
CREATED = 1_764_201_600  # a fixed timestamp keeps every response, and so every notebook output, stable


class UnknownBehaviourError(ValueError):
    """A behaviour name that FakeProvider does not know."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake provider answered: what, for which key (by fingerprint), and how."""

    method: str
    path: str
    key_fingerprint: str | None
    status: int


def _error(
    status: int, message: str, type_: str, code: str | None, headers: Mapping[str, str] | None = None
) -> httpx2.Response:
    """An error response shaped like the real provider's: ``{"error": {message, type, param, code}}``."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
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

    def client(self, api_key: Any, **openai_kwargs: Any) -> openai.OpenAI:
        """A real ``openai.OpenAI`` whose HTTP traffic goes to this fake.

        `api_key` may be a string or a callable (the SDK resolves it before each request).
        The SDK's own retries are off by default (``max_retries=0``): they would sleep for the
        ``Retry-After`` time; pass ``max_retries=2`` to watch them.
        """
        return openai.OpenAI(**self._sdk_options(api_key, httpx2.Client, openai_kwargs))

    def async_client(self, api_key: Any, **openai_kwargs: Any) -> openai.AsyncOpenAI:
        """The ``openai.AsyncOpenAI`` twin of `client`."""
        return openai.AsyncOpenAI(**self._sdk_options(api_key, httpx2.AsyncClient, openai_kwargs))

    def _sdk_options(self, api_key: Any, http_client: type, openai_kwargs: dict[str, Any]) -> dict[str, Any]:
        transport = httpx2.MockTransport(self.handle)
        return {"max_retries": 0, **openai_kwargs, "api_key": api_key, "base_url": self.base_url,
                "http_client": http_client(transport=transport)}

    # -- what was asked ----------------------------------------------------------------------

    def requests_by_key(self) -> Counter[str | None]:
        """How many requests each key (by fingerprint) made."""
        with self._lock:
            return Counter(r.key_fingerprint for r in self.requests)

    # -- the HTTP side -----------------------------------------------------------------------

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one HTTP request as the real provider would (the MockTransport handler)."""
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
        if behaviour == "forbidden":
            return _error(403, "You have insufficient permissions for this operation.",
                          "invalid_request_error", "insufficient_permissions")
        if behaviour == "rate_limited":
            headers = {"retry-after": f"{self.retry_after:g}",
                       "retry-after-ms": f"{self.retry_after * 1000:.0f}",
                       "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0"}
            return _error(429, "Rate limit reached for requests per min (RPM): Limit 3, Used 3, "
                          f"Requested 1. Please try again in {self.retry_after:g}s.",
                          "requests", "rate_limit_exceeded", headers)
        if behaviour == "quota_exhausted":
            return _error(429, "You exceeded your current quota, please check your plan and billing "
                          "details.", "insufficient_quota", "insufficient_quota")
        if behaviour == "server_error":
            return _error(500, "The server had an error while processing your request. Sorry about that!",
                          "server_error", None)
        return self._route(request)

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
            return httpx2.Response(200, json=self._completion(json.loads(request.content or b"{}")))
        return _error(404, f"Unknown request URL: {request.method} {request.url.path}.",
                      "invalid_request_error", "unknown_url")

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._completions += 1
            number = self._completions
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        words = f"This is a fake reply from the tutorial's provider to: {prompt}".split()
        limit = body.get("max_completion_tokens") or body.get("max_tokens") or len(words)
        reply, finish = words[:limit], "stop" if limit >= len(words) else "length"
        prompt_tokens = len(prompt.split()) + 4 * len(body.get("messages", []))
        return {
            "id": f"chatcmpl-fake-{number:06d}",
            "object": "chat.completion",
            "created": CREATED,
            "model": body.get("model", MODEL_IDS[0]),
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": " ".join(reply)}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply),
                      "total_tokens": prompt_tokens + len(reply)},
        }


def _model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": "fake-provider"}


def _bearer_token(request: httpx2.Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None
