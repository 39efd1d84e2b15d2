"""Several API keys behind one object: round-robin, failover, cooldowns, and honest errors.

`KeyPool` hands out keys in turn, skipping any key the provider has told us not to use::

    pool = KeyPool.from_env("OPENAI_API_KEY")          # OPENAI_API_KEY, OPENAI_API_KEY_1, ...
    reply = call_with_failover(pool, lambda key: client.with_options(api_key=key).models.list())

Each key is in one state, set from the real ``openai`` exception a call with it raised (read by
`helpers.provider_errors.classify_error`); the states are listed from least to most serious, and
a later error never softens a verdict (a late 429 does not revive a retired key):

========  ====================================================================  ===================
state     why                                                                   until
========  ====================================================================  ===================
ok        nothing wrong                                                         -
cooling   429 rate limit; 5xx, 408 or connection error (briefly)                ``Retry-After`` has
                                                                                passed
parked    a spent budget: 429 of type ``insufficient_quota`` (any code, e.g.    `KeyPool.reinstate`
          ``project_spend_limit_exceeded``), 402 (OpenRouter), 400 "usage
          limits" (Anthropic): waiting will not help
retired   401 / 403: revoked, wrong or not allowed                              `KeyPool.reinstate`
========  ====================================================================  ===================

**A missing scope is not a bad key.** A restricted OpenAI key without the permission one call needs
gets 401 "Missing scopes: ..." for that call and works for the others (so does a key whose project
may not use one model: 403 ``model_not_found``; a 403 for the caller's country is raised as it is).
The pool keeps such a key ``ok`` (counting the failure in its stats), and `call_with_failover`
moves on to the next key for this call, since another key may hold the scope. When no key holds
it, the call fails with `NoHealthyKeyError` chained to the 401, and every key stays in service for
the calls it may make.

**Retry-After is capped** at ``max_retry_after`` (default 120 s, the longest the SDK itself waits:
``MAX_RETRY_AFTER_DELAY`` in ``openai/_constants.py``, openai 3.51.0, beyond which the SDK does not
retry at all). After that, one request finds out whether the limit is over. So an absurd value
(``1e308``, ``inf``, a date in the year 99999) can never bench a key forever; an unreadable one
(``nan``, garbage) counts as no header, and the key rests for ``default_cooldown``.

``openai.OpenAI(api_key=pool.acquire)`` alone spreads load (the SDK asks for a key before every
request), but the callable never hears that a request failed, so a revoked key keeps being handed
out. `call_with_failover` reports each failure back to the pool. It never sleeps: when no key can be
used it raises `NoHealthyKeyError` at once, saying when the earliest key is usable again. Turn the
SDK's own retries off (``max_retries=0``) so a 429 comes back to the pool instead of sleeping
inside the SDK. Keys are only ever shown by `fingerprint`: ``repr``, stats, logs and errors never
hold a key, nor do the requests that the SDK's errors keep once they leave `call_with_failover`
(their ``Authorization`` header shows the fingerprint). A key with a copy-paste mistake
(`helpers.key_hygiene.diagnose_key`) is refused when the pool is built, naming its label: sent, it
would fail on every request.

Why our own: the SDK's retries know one key only, and routers that balance deployments (LiteLLM's,
for one) are a large dependency for this job; this module needs nothing beyond the SDK.

Needs: ``key_formats.py`` (fingerprints), ``key_hygiene.py`` (copy-paste mistakes),
``provider_errors.py`` (what an error says about the key); the ``openai`` library.
"""

from __future__ import annotations

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
from typing import TypeVar

import httpx2
import openai

from .key_formats import find_keys, fingerprint
from .key_hygiene import SecretValue, diagnose_key
from .provider_errors import MAX_RETRY_AFTER, ErrorKind, classify_error, describe_error, parse_retry_after

__all__ = [
    "call_with_failover", "call_with_failover_async", "InvalidPoolSettingError", "KeyPool", "KeyPoolError",
    "KeyState", "KeyStats", "MalformedKeyError", "MAX_RETRY_AFTER", "NoHealthyKeyError",
    "NoKeysConfiguredError", "NotAKeyListError", "parse_retry_after", "UnknownKeyError",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


class KeyState(StrEnum):
    """Where a key stands; see the table in the module docstring."""

    OK = "ok"
    COOLING = "cooling"
    PARKED = "parked"
    RETIRED = "retired"


# Least to most serious, written out: a new verdict replaces the old one only if it is at least as
# serious (waiting will not revive a parked key; topping up billing will not revive a retired one).
_SEVERITY = {KeyState.OK: 0, KeyState.COOLING: 1, KeyState.PARKED: 2, KeyState.RETIRED: 3}


class KeyPoolError(Exception):
    """Base class of this module's errors."""


class NoKeysConfiguredError(KeyPoolError, ValueError):
    """The pool was given no usable key (none set, or all empty)."""


class NotAKeyListError(KeyPoolError, TypeError):
    """The pool was given something other than a list of keys or a ``{label: key}`` mapping."""


class MalformedKeyError(KeyPoolError, ValueError):
    """A configured key has a copy-paste mistake; the message names its label, never its value."""


class InvalidPoolSettingError(KeyPoolError, ValueError):
    """A cooldown that is negative, infinite or not a number; or a clock that reads no time (NaN)."""


class UnknownKeyError(KeyPoolError, KeyError):
    """A key (or fingerprint) that this pool does not hold."""


class NoHealthyKeyError(KeyPoolError, RuntimeError):
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
    usable_at: float = -math.inf  # clock time when a cooling key may be handed out again (any clock)
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


class KeyPool:
    """Round-robin over healthy keys. Safe to share between threads and between coroutines.

    keys: a list of keys, or ``{label: key}`` (labels such as variable names show up in stats); a
    key may be a ``str`` or a ``SecretStr``. Keys are stripped; empty ones and duplicates are
    dropped (the first label wins); a key with another copy-paste mistake is refused.
    clock: monotonic seconds (inject a fake one in tests); wall_clock: for ``Retry-After`` dates.
    default_cooldown: seconds a rate-limited key rests when the 429 carries no usable ``Retry-After``.
    transient_cooldown: seconds a key rests after a 5xx or connection error (not the key's fault).
    max_retry_after: the longest rest a ``Retry-After`` can ask for (see the module docstring).
    """

    def __init__(
        self,
        keys: Iterable[str | SecretValue] | Mapping[str, str | SecretValue],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        default_cooldown: float = 30.0,
        transient_cooldown: float = 1.0,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        settings = {"default_cooldown": default_cooldown, "transient_cooldown": transient_cooldown,
                    "max_retry_after": max_retry_after}
        for name, seconds in settings.items():
            if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0):
                raise InvalidPoolSettingError(f"{name} must be a finite number of seconds >= 0, "
                                              f"got {seconds!r}")
        self._slots = [_Slot(key, label, fingerprint(key)) for key, label in _distinct_keys(keys).items()]
        self._clock, self._wall_clock = clock, wall_clock
        self.default_cooldown, self.transient_cooldown = default_cooldown, transient_cooldown
        self.max_retry_after = max_retry_after
        self._cursor = 0
        self._last_now = -math.inf
        self._lock = threading.Lock()

    @classmethod
    def from_env(
        cls, prefix: str, environ: Mapping[str, str] = os.environ, *,
        clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
        default_cooldown: float = 30.0, transient_cooldown: float = 1.0,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> KeyPool:
        """A pool of `prefix` and `prefix`_1, `prefix`_2, ... (no upper limit, gaps allowed).

        Values are stripped; empty ones and duplicates are dropped, so `len` counts distinct keys.
        The other arguments are `KeyPool`'s.
        """
        numbered = re.compile(rf"{re.escape(prefix)}_0*([0-9]+)")  # ASCII digits, of any length
        by_number = sorted((len(m.group(1)), m.group(1), name)  # by value, as int() would, with no limit
                           for name in environ if (m := numbered.fullmatch(name)))
        names = [prefix, *(name for _, _, name in by_number)]
        found = {name: environ[name] for name in names if name in environ}
        if not any(value.strip() for value in found.values()):
            raise NoKeysConfiguredError(f"no API key found: set {prefix} or {prefix}_1, {prefix}_2, ...")
        return cls(found, clock=clock, wall_clock=wall_clock, default_cooldown=default_cooldown,
                   transient_cooldown=transient_cooldown, max_retry_after=max_retry_after)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return "KeyPool([" + ", ".join(f"{s.fingerprint}:{s.state}" for s in self.stats()) + "])"

    def acquire(self, *, exclude: Collection[str] = ()) -> str:
        """The next healthy key in turn (skipping `exclude`), or `NoHealthyKeyError` at once."""
        with self._lock:
            now, count = self._now(), len(self._slots)
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
        """Update `key`'s state from `error`; return False if the error is not about the key.

        True means: try another key for this call. That includes a missing scope, which leaves
        the key in service (see the module docstring).
        """
        kind = classify_error(error)
        if kind is None or kind in (ErrorKind.REQUEST, ErrorKind.UNSENDABLE):
            return False  # the same with every key: a 404, a bad header of the caller's
        state, rest = self._verdict(kind, error)
        described = describe_error(error) + (" (missing scope)" if kind is ErrorKind.MISSING_SCOPE else "")
        with self._lock:
            slot, now = self._find(key), self._now()
            slot.failures += 1
            slot.last_error = described
            before = slot.state_at(now)
            if _SEVERITY[state] >= _SEVERITY[before]:  # never soften a verdict, nor shorten a rest
                slot.state, slot.usable_at = state, max(slot.usable_at, now + rest)
        if _SEVERITY[state] > _SEVERITY[before]:  # log a change once, not once per request in flight
            level = logging.INFO if state is KeyState.COOLING else logging.WARNING  # waiting won't help
            log.log(level, "key %s (%s) is now %s after %s", slot.fingerprint, slot.label, state, described)
        elif kind is ErrorKind.MISSING_SCOPE:
            log.info("key %s (%s) stays %s after %s: fine for other calls", slot.fingerprint, slot.label,
                     before, described)
        return True

    def reinstate(self, key_or_fingerprint: str) -> None:
        """Put a parked or retired key back in service (after topping up billing, say)."""
        with self._lock:
            slot = self._find(key_or_fingerprint)
            slot.state, slot.usable_at = KeyState.OK, -math.inf

    def stats(self) -> list[KeyStats]:
        """One `KeyStats` per key, in configuration order."""
        with self._lock:
            now = self._now()
            return [slot.stats_at(now) for slot in self._slots]

    def _now(self) -> float:
        """The clock, read under the lock. If it went back (a wall clock set back, given as `clock`),
        every rest moves back as much: a rest keeps its length, it never grows."""
        now = self._clock()
        if not math.isfinite(now):  # NaN compares false with everything: a key would cool forever
            raise InvalidPoolSettingError(f"the pool's clock read {now!r}, not a time")
        if now < self._last_now:
            for slot in self._slots:
                slot.usable_at -= self._last_now - now
        self._last_now = now
        return now

    def _find(self, key_or_fingerprint: str) -> _Slot:
        for slot in self._slots:
            if key_or_fingerprint in (slot.key, slot.fingerprint):
                return slot
        raise UnknownKeyError(f"no key {fingerprint(key_or_fingerprint)} (by key or fingerprint) "
                              "in this pool")

    def _verdict(self, kind: ErrorKind, error: BaseException) -> tuple[KeyState, float]:
        """The state an error of `kind` puts its key in, and for how long."""
        # Equivalent mutants below: a retired or parked key never cools again before `reinstate`
        # resets its clock, so the rest given with those states is never read.
        if kind is ErrorKind.INVALID_KEY:
            return KeyState.RETIRED, 0.0  # pragma: no mutate (rest is read only when cooling)
        if kind is ErrorKind.QUOTA:
            return KeyState.PARKED, 0.0  # pragma: no mutate (rest is read only when cooling)
        if kind is ErrorKind.RATE_LIMIT and isinstance(error, openai.APIStatusError):
            headers = error.response.headers
            wait = parse_retry_after(headers, now=self._wall_clock(), cap=self.max_retry_after)
            return KeyState.COOLING, self.default_cooldown if wait is None else wait
        if kind is ErrorKind.MISSING_SCOPE:
            return KeyState.OK, 0.0
        return KeyState.COOLING, self.transient_cooldown

    def _no_healthy_key(self, now: float, *, tried: int) -> NoHealthyKeyError:
        states = Counter(str(slot.state_at(now)) for slot in self._slots)
        summary = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        cooling = [slot for slot in self._slots if slot.state_at(now) is KeyState.COOLING]
        if states[KeyState.OK]:
            return NoHealthyKeyError(
                f"every usable key was already tried once by this call ({tried} tried; {summary}); "
                "the last failure is chained", retry_in=0.0, states=states)
        if cooling:
            first = min(cooling, key=lambda slot: slot.usable_at)
            wait = first.usable_at - now
            return NoHealthyKeyError(
                f"no healthy key ({summary}); the earliest, {first.fingerprint} ({first.label}), "
                f"is usable again in {wait:.1f} s", retry_in=wait, states=states)
        return NoHealthyKeyError(
            f"no healthy key ({summary}) and waiting will not help: parked keys need quota "
            "(check billing), retired keys need replacing", retry_in=None, states=states)


def _distinct_keys(keys: object) -> dict[str, str]:
    """``{key: label}`` of the stripped, non-empty, distinct keys; refuses a bare string or a bad key."""
    if isinstance(keys, str | bytes | bytearray) or not isinstance(keys, Iterable):
        raise NotAKeyListError(f"KeyPool takes a list of keys or a {{label: key}} mapping, not a "
                               f"{type(keys).__name__}: for one key, write KeyPool([key])")
    labelled = keys if isinstance(keys, Mapping) else {f"key {n}": k for n, k in enumerate(keys, 1)}
    if any(find_keys(str(label)) for label in labelled):  # before any message names a label
        raise NotAKeyListError("a label of the mapping looks like an API key: the mapping is {label: key}, "
                               "e.g. {'OPENAI_API_KEY': key}; labels are shown in stats, logs and errors")
    distinct: dict[str, str] = {}
    problems: list[str] = []
    for label, raw in labelled.items():
        if isinstance(raw, SecretValue) and not isinstance(raw, str):
            raw = raw.get_secret_value()
        if not isinstance(raw, str):
            raise NotAKeyListError(f"{label} is a {type(raw).__name__}, not a key (str or SecretStr)")
        key = raw.strip()
        findings = diagnose_key(key) if key else []
        if findings:
            problems.append(f"{label}: {findings[0]}")
        elif key:
            distinct.setdefault(key, str(label))
    if problems:
        raise MalformedKeyError("KeyPool refuses keys with a copy-paste mistake: " + "; ".join(problems))
    if not distinct:
        raise NoKeysConfiguredError("KeyPool needs at least one non-empty key")
    return distinct


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
            _forget_key(error, key)
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
            _forget_key(error, key)
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


def _forget_key(error: BaseException, key: str) -> None:
    """Replace `key` in the headers of every request that `error` and its chain keep.

    The SDK's exceptions keep the request they sent (``err.request``, ``err.response.request``), its
    ``Authorization: Bearer <key>`` header included: once the error leaves the failover loop, it
    shows the key's fingerprint there instead.
    """
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for request in _requests_of(current):
            for name, value in [(n, v) for n, v in request.headers.items() if key in v]:
                request.headers[name] = value.replace(key, f"[REDACTED {fingerprint(key)}]")
        pending += [link for link in (current.__cause__, current.__context__) if link is not None]


def _requests_of(error: BaseException) -> list[httpx2.Request]:
    found = []
    for holder in (error, getattr(error, "response", None)):
        try:
            request = getattr(holder, "request", None)
        except RuntimeError:  # an httpx2 error or response with no request attached
            request = None
        if isinstance(request, httpx2.Request):
            found.append(request)
    return found
