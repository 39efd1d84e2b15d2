"""Several API keys behind one object: round-robin, failover, cooldowns, and honest errors.

`KeyPool` hands out keys in turn, skipping any key the provider has told us not to use::

    pool = KeyPool.from_env("OPENAI_API_KEY")          # OPENAI_API_KEY, OPENAI_API_KEY_1, ...
    reply = call_with_failover(pool, lambda key: client.with_options(api_key=key).models.list())

Each key is in one state, set from the real ``openai`` exception a call with it raised:

========  =================================================  ===========================
state     why                                                until
========  =================================================  ===========================
ok        nothing wrong                                      -
cooling   429 rate limit; 5xx or connection error (briefly)  ``Retry-After`` has passed
parked    429 ``insufficient_quota``: waiting will not help  `KeyPool.reinstate`
retired   401 / 403: revoked, wrong or not allowed           `KeyPool.reinstate`
========  =================================================  ===========================

``openai.OpenAI(api_key=pool.acquire)`` alone spreads load (the SDK asks for a key before every
request), but the callable never hears that a request failed, so a revoked key keeps being handed
out. `call_with_failover` reports each failure back to the pool. It never sleeps: when no key can be
used it raises `NoHealthyKeyError` at once, saying when the earliest key is usable again. Turn the
SDK's own retries off (``max_retries=0``) so a 429 comes back to the pool instead of sleeping
inside the SDK. Keys are only ever shown by `fingerprint`: ``repr``, stats, logs and errors never
hold a key.

Why our own: the SDK's retries know one key only, and routers that balance deployments (LiteLLM's,
for one) are a large dependency for this job; this module needs nothing beyond the SDK.
"""

from __future__ import annotations

import email.utils
import logging
import math
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import openai

from .key_formats import fingerprint

__all__ = [
    "call_with_failover", "call_with_failover_async", "KeyPool", "KeyState", "KeyStats",
    "NoHealthyKeyError", "NoKeysConfiguredError", "parse_retry_after",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


class KeyState(StrEnum):
    """Where a key stands, from least to most serious; see the table in the module docstring."""

    OK = "ok"
    COOLING = "cooling"
    PARKED = "parked"
    RETIRED = "retired"


_SEVERITY = {state: rank for rank, state in enumerate(KeyState)}


class NoKeysConfiguredError(ValueError):
    """The pool was given no usable key (none set, or all empty)."""


class NoHealthyKeyError(RuntimeError):
    """No key can serve this request now.

    retry_in: seconds until the earliest cooling key is usable again (0 if a key is usable but was
    already tried by this call), or ``None`` if waiting will not help (every key parked or retired).
    states: how many keys are in each state.
    """

    def __init__(self, message: str, *, retry_in: float | None, states: Mapping[str, int]) -> None:
        super().__init__(message)
        self.retry_in = retry_in
        self.states = dict(states)


@dataclass(frozen=True)
class KeyStats:
    """What the pool knows about one key, by fingerprint (never the key)."""

    label: str
    fingerprint: str
    state: KeyState
    uses: int
    failures: int
    usable_in: float  # seconds until the key may be handed out again (0 when ok)
    last_error: str | None


@dataclass
class _Slot:
    """One key and what the pool knows about it."""

    key: str
    label: str
    fingerprint: str
    state: KeyState = KeyState.OK
    usable_at: float = 0.0  # clock time when a cooling key may be handed out again
    uses: int = 0
    failures: int = 0
    last_error: str | None = None

    def state_at(self, now: float) -> KeyState:
        """The state at `now`: a cooling key whose rest is over is ok again."""
        if self.state is KeyState.COOLING and now >= self.usable_at:
            return KeyState.OK
        return self.state

    def stats_at(self, now: float) -> KeyStats:
        state = self.state_at(now)
        usable_in = self.usable_at - now if state is KeyState.COOLING else 0.0
        return KeyStats(self.label, self.fingerprint, state, self.uses, self.failures, usable_in,
                        self.last_error)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    `now` is the wall-clock time (``time.time()``) used for the date form. Returns ``None`` when
    no header holds a usable value; a time in the past gives 0.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(lower.get(name, "").strip()) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    parsed = email.utils.parsedate_tz(lower.get("retry-after", ""))
    if parsed is None:
        return None
    wall = time.time() if now is None else now
    return max(email.utils.mktime_tz(parsed) - wall, 0.0)


def _describe(error: BaseException) -> str:
    # Type, status and code only: the SDK's message for a 401 echoes part of the key.
    status = getattr(error, "status_code", None)
    code = getattr(error, "code", None)
    return " ".join(str(part) for part in (type(error).__name__, status, code) if part)


class KeyPool:
    """Round-robin over healthy keys. Safe to share between threads and between coroutines.

    keys: the keys, or ``{label: key}`` (labels such as variable names show up in stats). Keys are
    stripped; empty ones and duplicates are dropped (the first label wins).
    clock: monotonic seconds (inject a fake one in tests); wall_clock: for ``Retry-After`` dates.
    default_cooldown: seconds a rate-limited key rests when the 429 carries no ``Retry-After``.
    transient_cooldown: seconds a key rests after a 5xx or connection error (not the key's fault).
    """

    def __init__(
        self,
        keys: Iterable[str] | Mapping[str, str],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        default_cooldown: float = 30.0,
        transient_cooldown: float = 1.0,
    ) -> None:
        labelled = keys if isinstance(keys, Mapping) else {f"key {n}": k for n, k in enumerate(keys, 1)}
        distinct: dict[str, str] = {}  # key -> label
        for label, raw in labelled.items():
            distinct.setdefault(raw.strip(), label)
        distinct.pop("", None)
        if not distinct:
            raise NoKeysConfiguredError("KeyPool needs at least one non-empty key")
        self._slots = [_Slot(key, label, fingerprint(key)) for key, label in distinct.items()]
        self._clock, self._wall_clock = clock, wall_clock
        self.default_cooldown, self.transient_cooldown = default_cooldown, transient_cooldown
        self._cursor = 0
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, prefix: str, environ: Mapping[str, str] = os.environ, **options: Any) -> KeyPool:
        """A pool of `prefix` and `prefix`_1, `prefix`_2, ... (no upper limit, gaps allowed).

        Values are stripped; empty ones and duplicates are dropped, so `len` counts distinct keys.
        `options` go to `KeyPool` (``clock=``, ``default_cooldown=``, ...).
        """
        numbered = re.compile(rf"{re.escape(prefix)}_(\d+)")
        by_number = sorted((int(m.group(1)), name) for name in environ if (m := numbered.fullmatch(name)))
        names = [prefix, *(name for _, name in by_number)]
        found = {name: environ[name] for name in names if name in environ}
        if not any(value.strip() for value in found.values()):
            raise NoKeysConfiguredError(f"no API key found: set {prefix} or {prefix}_1, {prefix}_2, ...")
        return cls(found, **options)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return "KeyPool([" + ", ".join(f"{s.fingerprint}:{s.state}" for s in self.stats()) + "])"

    def acquire(self, *, exclude: Collection[str] = ()) -> str:
        """The next healthy key in turn (skipping `exclude`), or `NoHealthyKeyError` at once."""
        with self._lock:
            now, count = self._clock(), len(self._slots)
            for step in range(count):
                index = (self._cursor + step) % count
                slot = self._slots[index]
                if slot.state_at(now) is KeyState.OK and slot.key not in exclude:
                    self._cursor = index + 1
                    slot.uses += 1
                    return slot.key
            raise self._no_healthy_key(now, tried=len(exclude))

    async def acquire_async(self) -> str:
        """`acquire` for ``openai.AsyncOpenAI(api_key=pool.acquire_async)`` (it wants a coroutine)."""
        return self.acquire()

    def record_failure(self, key: str, error: BaseException) -> bool:
        """Update `key`'s state from `error`; return False if the error is not about the key."""
        verdict = self._classify(error)
        if verdict is None:
            return False
        state, rest = verdict
        described = _describe(error)
        with self._lock:
            slot, now = self._find(key), self._clock()
            slot.failures += 1
            slot.last_error = described
            before = slot.state_at(now)
            # Never soften a verdict: a late 429 must not revive a retired key, nor shorten a rest.
            if _SEVERITY[state] >= _SEVERITY[before]:
                slot.state, slot.usable_at = state, max(slot.usable_at, now + rest)
        if _SEVERITY[state] > _SEVERITY[before]:  # log a change once, not once per request in flight
            level = logging.INFO if state is KeyState.COOLING else logging.WARNING  # waiting won't help
            log.log(level, "key %s (%s) is now %s after %s", slot.fingerprint, slot.label, state, described)
        return True

    def reinstate(self, key_or_fingerprint: str) -> None:
        """Put a parked or retired key back in service (after topping up billing, say)."""
        with self._lock:
            slot = self._find(key_or_fingerprint)
            slot.state, slot.usable_at = KeyState.OK, 0.0

    def stats(self) -> list[KeyStats]:
        """One `KeyStats` per key, in configuration order."""
        with self._lock:
            now = self._clock()
            return [slot.stats_at(now) for slot in self._slots]

    def _find(self, key_or_fingerprint: str) -> _Slot:
        for slot in self._slots:
            if key_or_fingerprint in (slot.key, slot.fingerprint):
                return slot
        raise KeyError(f"no key {fingerprint(key_or_fingerprint)} (by key or fingerprint) in this pool")

    def _classify(self, error: BaseException) -> tuple[KeyState, float] | None:
        """The state an error puts its key in, and for how long; None if the key is not to blame."""
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return KeyState.RETIRED, 0.0
        if isinstance(error, openai.RateLimitError):
            if "insufficient_quota" in (error.code, error.type):
                return KeyState.PARKED, 0.0
            wait = parse_retry_after(error.response.headers, now=self._wall_clock())
            return KeyState.COOLING, self.default_cooldown if wait is None else wait
        status = getattr(error, "status_code", None) or 0
        transient = isinstance(error, openai.APIConnectionError) or status >= 500 or status == 408
        return (KeyState.COOLING, self.transient_cooldown) if transient else None

    def _no_healthy_key(self, now: float, *, tried: int) -> NoHealthyKeyError:
        states = Counter(str(slot.state_at(now)) for slot in self._slots)
        summary = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        cooling = [slot for slot in self._slots if slot.state_at(now) is KeyState.COOLING]
        if states[KeyState.OK]:
            return NoHealthyKeyError(
                f"every usable key was already tried once by this call ({tried} tried; {summary})",
                retry_in=0.0, states=states)
        if cooling:
            first = min(cooling, key=lambda slot: slot.usable_at)
            wait = first.usable_at - now
            return NoHealthyKeyError(
                f"no healthy key ({summary}); the earliest, {first.fingerprint} ({first.label}), "
                f"is usable again in {wait:.1f} s", retry_in=wait, states=states)
        return NoHealthyKeyError(
            f"no healthy key ({summary}) and waiting will not help: parked keys need quota "
            "(check billing), retired keys need replacing", retry_in=None, states=states)


def call_with_failover(pool: KeyPool, fn: Callable[[str], T]) -> T:
    """``fn(key)`` with the next healthy key; on a key's failure, the next one (each at most once).

    Errors that are not about the key (400, 404, ...) are raised as they are. When every healthy
    key has failed, or none is healthy, raises `NoHealthyKeyError` (chained to the last error).
    """
    tried: set[str] = set()
    last_error: Exception | None = None
    while True:
        key = _next_key(pool, tried, last_error)
        try:
            return fn(key)
        except Exception as error:
            if not pool.record_failure(key, error):
                raise
            tried.add(key)
            last_error = error


async def call_with_failover_async(pool: KeyPool, fn: Callable[[str], Awaitable[T]]) -> T:
    """The asyncio twin of `call_with_failover`: ``await fn(key)``."""
    tried: set[str] = set()
    last_error: Exception | None = None
    while True:
        key = _next_key(pool, tried, last_error)
        try:
            return await fn(key)
        except Exception as error:
            if not pool.record_failure(key, error):
                raise
            tried.add(key)
            last_error = error


def _next_key(pool: KeyPool, tried: set[str], last_error: Exception | None) -> str:
    try:
        return pool.acquire(exclude=tried)
    except NoHealthyKeyError as error:
        # Chained to the failure that used up the last key, so a traceback shows what happened.
        raise error from last_error
