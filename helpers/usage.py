"""A client-side spending guard: count what responses say they used, warn early, stop at a limit.

The provider's dashboard has budgets and alert e-mails. They act late, per organisation or
project, and may not stop requests at all (OpenAI's monthly budget only alerts). `UsageBudget`
acts in your process, per request: it reads the ``usage`` block of each chat completion, calls
your alert hook once when a threshold is crossed, and refuses further calls once the hard limit is
reached::

    budget = UsageBudget(limit=50_000, alert_at=0.8, on_alert=notify_team)
    ask = budget.metered(lambda key: client.with_options(api_key=key).chat.completions.create(...))
    reply = call_with_failover(pool, ask)

It counts tokens by default; pass ``measure=`` to count money instead (your model's prices).
With ``per_key=True`` every key (by fingerprint) has its own budget; otherwise one for the pool.
It is a guard, not an accountant: the figures are what this process saw, and a limit stops the
*next* call (the tokens of the call that crossed it are already spent).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .key_formats import fingerprint

__all__ = [
    "BudgetAlert", "BudgetExceededError", "MissingUsageError", "POOL", "total_tokens", "UsageBudget",
]

T = TypeVar("T")
POOL = "pool"  # the scope name when the budget is shared by every key


class BudgetExceededError(RuntimeError):
    """The hard limit is reached: no more calls in this scope until `UsageBudget.reset`."""

    def __init__(self, scope: str, used: float, limit: float) -> None:
        where = "the pool" if scope == POOL else f"key {scope}"
        super().__init__(
            f"usage budget for {where} is spent: {used:,.0f} of {limit:,.0f} used; "
            "raise the limit, or reset() it when the next period starts"
        )
        self.scope, self.used, self.limit = scope, used, limit


class MissingUsageError(ValueError):
    """A response without ``usage`` (e.g. a stream without ``stream_options={"include_usage": True}``)."""


@dataclass(frozen=True)
class BudgetAlert:
    """Passed to the alert hook: which scope (fingerprint or ``"pool"``) crossed the threshold."""

    scope: str
    used: float
    limit: float
    threshold: float


def total_tokens(usage: Any) -> float:
    """The default measure: ``usage.total_tokens`` (works for SDK objects and plain dicts)."""
    return float(usage["total_tokens"] if isinstance(usage, dict) else usage.total_tokens)


class UsageBudget:
    """Counts usage per scope, alerts once at `alert_at` (a fraction of `limit`), stops at `limit`.

    limit: the hard limit, in the unit of `measure` (tokens by default).
    alert_at: fraction of the limit at which `on_alert` is called, once per scope (0 < alert_at <= 1).
    on_alert: called with a `BudgetAlert`, outside the budget's lock (it may be slow: e-mail, Slack).
    per_key: one budget per key (by fingerprint) instead of one for the pool.
    measure: turns a response's ``usage`` into the unit of `limit`.
    """

    def __init__(
        self,
        limit: float,
        *,
        alert_at: float = 0.8,
        on_alert: Callable[[BudgetAlert], object] | None = None,
        per_key: bool = False,
        measure: Callable[[Any], float] = total_tokens,
    ) -> None:
        if limit <= 0:
            raise ValueError(f"limit must be positive, got {limit!r}")
        if not 0 < alert_at <= 1:
            raise ValueError(f"alert_at is a fraction of the limit (0 < alert_at <= 1), got {alert_at!r}")
        self.limit, self.alert_at, self.per_key = limit, alert_at, per_key
        self._on_alert, self._measure = on_alert, measure
        self._used: dict[str, float] = {}
        self._alerted: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"UsageBudget(limit={self.limit:g}, alert_at={self.alert_at:g}, used={self.usage_by_scope()})"

    def scope(self, key: str | None = None) -> str:
        """The scope a key's usage counts towards: its fingerprint, or ``"pool"``."""
        if not self.per_key:
            return POOL
        if key is None:
            raise ValueError("this budget is per key: pass the key the call used")
        return fingerprint(key)

    def used(self, key: str | None = None) -> float:
        with self._lock:
            return self._used.get(self.scope(key), 0.0)

    def remaining(self, key: str | None = None) -> float:
        return max(self.limit - self.used(key), 0.0)

    def usage_by_scope(self) -> dict[str, float]:
        with self._lock:
            return dict(self._used)

    def check(self, key: str | None = None) -> None:
        """Raise `BudgetExceededError` if the scope of `key` has reached the limit."""
        scope = self.scope(key)
        used = self.used(key)
        if used >= self.limit:
            raise BudgetExceededError(scope, used, self.limit)

    def record(self, response: Any, key: str | None = None) -> float:
        """Add the response's usage to the scope of `key`; return the scope's new total."""
        usage = response.get("usage") if isinstance(response, dict) else getattr(response, "usage", None)
        if usage is None:
            raise MissingUsageError(
                "the response has no usage to count; for streams pass "
                'stream_options={"include_usage": True} and record the last chunk'
            )
        return self.add(self._measure(usage), key)

    def add(self, amount: float, key: str | None = None) -> float:
        """Count `amount` against the scope of `key` directly; return the scope's new total."""
        scope = self.scope(key)
        with self._lock:
            used = self._used[scope] = self._used.get(scope, 0.0) + amount
            crossed = used >= self.alert_at * self.limit and scope not in self._alerted
            if crossed:
                self._alerted.add(scope)
        if crossed and self._on_alert is not None:
            self._on_alert(BudgetAlert(scope, used, self.limit, self.alert_at * self.limit))
        return used

    def reset(self, key: str | None = None) -> None:
        """Start a new period: for the scope of `key`, or for every scope when `key` is None."""
        with self._lock:
            scopes = list(self._used) if key is None else [self.scope(key)]
            for scope in scopes:
                self._used.pop(scope, None)
                self._alerted.discard(scope)

    def metered(self, call: Callable[[str], T]) -> Callable[[str], T]:
        """Wrap ``call(key)``: check the budget before it, record its response after it."""

        def guarded(key: str) -> T:
            self.check(key)
            response = call(key)
            self.record(response, key)
            return response

        return guarded
