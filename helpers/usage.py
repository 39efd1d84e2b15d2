"""A client-side spending guard: count what responses say they used, warn early, stop at a limit.

Providers have spending controls of their own, and you should set them. At OpenAI, budgets and
alerts e-mail you, and organizations and projects can also set a **hard spend limit**:
requests past it get a 429 of type ``insufficient_quota`` with the code
``organization_spend_limit_exceeded`` or ``project_spend_limit_exceeded``
(https://help.openai.com/en/articles/6614457). The pinned SDK manages them with an admin key:
``client.admin.organization.spend_limit`` and ``client.admin.organization.projects.spend_limit``
(retrieve / update / delete; ``openai/resources/admin/organization/spend_limit.py`` and
``.../projects/spend_limit.py`` in openai 3.51.0), next to ``spend_alerts``. A sound setup: a hard
limit on each development project, alerts on the rest.

`UsageBudget` is the guard you control and can test. It acts in your process, per request and per
key if you like: it reads the ``usage`` block of each chat completion, calls your alert hook once
when a threshold is crossed, and refuses further calls once the hard limit is reached::

    budget = UsageBudget(limit=50_000, alert_at=0.8, on_alert=notify_team)
    ask = budget.metered(lambda key: client.with_options(api_key=key).chat.completions.create(...))
    reply = call_with_failover(pool, ask)

It counts tokens by default; pass ``measure=`` to count money instead (your model's prices).
With ``per_key=True`` every key (by fingerprint) has its own budget; otherwise one for the pool.
It is a guard, not an accountant: the figures are what this process saw, and a limit stops the
*next* call (the tokens of the call that crossed it are already spent). It fails closed: an amount
that is not a finite number >= 0 (a ``measure`` that returns NaN for a model without a price, say)
is refused, and its scope refuses every call until `UsageBudget.reset`, instead of silently
counting nothing.

Amounts add up as the decimals they are written as, exactly: a float counts as the number it prints
as (``0.1`` is one tenth), and a ``Decimal`` as itself. So ten calls at ``0.10`` spend exactly ``1.00``
and reach a limit of 1 (added as floats they make 0.9999999999999999, and the eleventh call would
pass). The limit and the threshold may be ``int``, ``float``, ``Decimal`` or ``Fraction``.

Needs: ``key_formats.py`` (fingerprints); no library.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Rational
from typing import Protocol, SupportsFloat, TypeVar

from .key_formats import fingerprint

__all__ = [
    "BudgetAlert", "BudgetExceededError", "BudgetSettingError", "InvalidUsageError", "MissingUsageError",
    "POOL", "ScopeError", "TokenUsage", "total_tokens", "Usage", "UsageBudget", "UsageBudgetError",
]

T = TypeVar("T")
_FINEST = 18  # decimal places an amount is taken exactly to (a billionth of a billionth of a dollar)
POOL = "pool"  # the scope name when the budget is shared by every key


class TokenUsage(Protocol):
    """The ``usage`` block of a chat completion (``openai.types.CompletionUsage`` is one)."""

    @property
    def prompt_tokens(self) -> int: ...

    @property
    def completion_tokens(self) -> int: ...

    @property
    def total_tokens(self) -> int: ...


Usage = TokenUsage | Mapping[str, int]  # what a `measure` receives: the SDK's object, or a dict


class UsageBudgetError(Exception):
    """Base class of this module's errors."""


class BudgetExceededError(UsageBudgetError, RuntimeError):
    """The hard limit is reached: no more calls in this scope until `UsageBudget.reset`."""

    def __init__(self, scope: str, used: float, limit: float) -> None:
        where = "the pool" if scope == POOL else f"key {scope}"
        super().__init__(
            f"usage budget for {where} is spent: {_shown(used)} of {_shown(limit)} used; "
            "raise the limit, or reset() it when the next period starts"
        )
        self.scope, self.used, self.limit = scope, used, limit


class InvalidUsageError(UsageBudgetError, ValueError):
    """An amount that is not a finite number >= 0: the scope refuses calls until `UsageBudget.reset`."""


class MissingUsageError(UsageBudgetError, ValueError):
    """A response without ``usage`` (e.g. a stream without ``stream_options={"include_usage": True}``)."""


class BudgetSettingError(UsageBudgetError, ValueError):
    """A limit or alert threshold that makes no sense (zero, negative, infinite, NaN)."""


class ScopeError(UsageBudgetError, ValueError):
    """A per-key budget was asked about without the key."""


@dataclass(frozen=True)
class BudgetAlert:
    """Passed to the alert hook: which scope (fingerprint or ``"pool"``) crossed the threshold."""

    scope: str
    used: float
    limit: float
    threshold: float


def total_tokens(usage: Usage) -> float:
    """The default measure: ``usage.total_tokens`` (works for SDK objects and plain dicts).

    The count is returned as it is: the budget refuses one that is not a number (text, say).
    """
    count = usage.get("total_tokens") if isinstance(usage, Mapping) else getattr(usage, "total_tokens", None)
    if count is None:
        raise MissingUsageError("the usage block has no total_tokens")
    return count


class UsageBudget:
    """Counts usage per scope, alerts once at `alert_at` (a fraction of `limit`), stops at `limit`.

    limit: the hard limit, in the unit of `measure` (tokens by default); finite and positive.
    alert_at: fraction of the limit at which `on_alert` is called, once per scope (0 < alert_at <= 1).
    on_alert: called with a `BudgetAlert`, outside the budget's lock (it may be slow: e-mail, Slack).
    per_key: one budget per key (by fingerprint) instead of one for the pool.
    measure: turns a response's ``usage`` into the unit of `limit`; it must return a finite number
             >= 0 (anything else is refused, and stops the scope: see the module docstring).
    """

    def __init__(
        self,
        limit: float,
        *,
        alert_at: float = 0.8,
        on_alert: Callable[[BudgetAlert], object] | None = None,
        per_key: bool = False,
        measure: Callable[[Usage], float] = total_tokens,
    ) -> None:
        self._lock = threading.Lock()
        self._configure(limit, alert_at)
        self.per_key = per_key
        self._on_alert, self._measure = on_alert, measure
        self._used: dict[str, Fraction] = {}
        self._alerted: set[str] = set()
        self._refused: dict[str, str] = {}  # scope -> why it stopped counting

    @property
    def limit(self) -> float:
        """The hard limit, as given; assign to raise (or lower) it in place."""
        return self._given[0]

    @limit.setter
    def limit(self, limit: float) -> None:
        self._configure(limit, self.alert_at)

    @property
    def alert_at(self) -> float:
        """The alert threshold, a fraction of the limit, as given; assign to change it."""
        return self._given[1]

    @alert_at.setter
    def alert_at(self, alert_at: float) -> None:
        self._configure(self.limit, alert_at)

    def _configure(self, limit: float, alert_at: float) -> None:
        exact_limit, fraction = _exact(limit), _exact(alert_at)
        if exact_limit is None or exact_limit <= 0:
            raise BudgetSettingError(f"limit must be a finite positive amount, got {limit!r}")
        if fraction is None or not 0 < fraction <= 1:
            raise BudgetSettingError(f"alert_at is a fraction of the limit (0 < alert_at <= 1), "
                                     f"got {alert_at!r}")
        with self._lock:
            self._given = (limit, alert_at)
            self._limit, self._threshold = exact_limit, fraction * exact_limit

    def __repr__(self) -> str:
        limit, alert_at = float(self.limit), float(self.alert_at)  # a Fraction has no :g before 3.12
        return f"UsageBudget(limit={limit:g}, alert_at={alert_at:g}, used={self.usage_by_scope()})"

    def scope(self, key: str | None = None) -> str:
        """The scope a key's usage counts towards: its fingerprint, or ``"pool"``."""
        if not self.per_key:
            return POOL
        if key is None:
            raise ScopeError("this budget is per key: pass the key the call used")
        return fingerprint(key)

    def used(self, key: str | None = None) -> float:
        with self._lock:
            return _float(self._used.get(self.scope(key), Fraction(0)))

    def remaining(self, key: str | None = None) -> float:
        scope = self.scope(key)
        with self._lock:
            return _float(max(self._limit - self._used.get(scope, Fraction(0)), Fraction(0)))

    def usage_by_scope(self) -> dict[str, float]:
        with self._lock:
            return {scope: _float(used) for scope, used in self._used.items()}

    def check(self, key: str | None = None) -> None:
        """Raise `BudgetExceededError` if the scope of `key` has reached the limit, or
        `InvalidUsageError` if it stopped counting (an invalid amount, until `reset`)."""
        scope = self.scope(key)
        with self._lock:
            used, refused = self._used.get(scope, Fraction(0)), self._refused.get(scope)
        if refused is not None:
            raise InvalidUsageError(refused)
        if used >= self._limit:
            raise BudgetExceededError(scope, _float(used), self.limit)

    def record(self, response: object, key: str | None = None) -> float:
        """Add the response's usage to the scope of `key`; return the scope's new total."""
        usage = response.get("usage") if isinstance(response, Mapping) else getattr(response, "usage", None)
        if usage is None:
            raise MissingUsageError(
                "the response has no usage to count; for streams pass "
                'stream_options={"include_usage": True} and record the last chunk'
            )
        return self.add(self._measure(usage), key)

    def add(self, amount: float, key: str | None = None) -> float:
        """Count `amount` against the scope of `key` directly; return the scope's new total."""
        scope = self.scope(key)
        value = _exact(amount)
        if value is None:
            reason = (f"usage amount {amount!r} is not a finite number >= 0 (check the measure); "
                      f"scope {scope} refuses calls until reset()")
            with self._lock:
                self._refused[scope] = reason
            raise InvalidUsageError(reason)
        with self._lock:
            used = self._used[scope] = self._used.get(scope, Fraction(0)) + value
            crossed = used >= self._threshold and scope not in self._alerted
            if crossed:
                self._alerted.add(scope)
        if crossed and self._on_alert is not None:
            self._on_alert(BudgetAlert(scope, _float(used), self.limit, _float(self._threshold)))
        return _float(used)

    def reset(self, key: str | None = None) -> None:
        """Start a new period: for the scope of `key`, or for every scope when `key` is None."""
        with self._lock:
            scopes = set(self._used) | set(self._refused) if key is None else {self.scope(key)}
            for scope in scopes:
                self._used.pop(scope, None)
                self._alerted.discard(scope)
                self._refused.pop(scope, None)

    def metered(self, call: Callable[[str], T]) -> Callable[[str], T]:
        """Wrap ``call(key)``: check the budget before it, record its response after it."""

        def guarded(key: str) -> T:
            self.check(key)
            response = call(key)
            self.record(response, key)
            return response

        return guarded


def _exact(amount: object) -> Fraction | None:
    """`amount` exactly, if it is a finite number >= 0 that a float can hold, else None.

    An int, ``Decimal`` or ``Fraction`` is taken as it is, down to 1e-18; any other number (a float),
    or one finer than that (``Decimal("1e-99999999")``, whose exact sum would grow without end), as the
    decimal its float prints as: 0.1 is one tenth, not the binary fraction just above it.
    """
    if not isinstance(amount, SupportsFloat) or isinstance(amount, str | bytes):
        return None
    try:
        value = float(amount)
    except (TypeError, ValueError, OverflowError):  # e.g. an int too large for a float
        return None
    if not (math.isfinite(value) and value >= 0):
        return None
    if isinstance(amount, Decimal) and isinstance(exponent := amount.as_tuple().exponent, int) \
            and exponent >= -_FINEST:
        return Fraction(amount)
    if isinstance(amount, Rational) and amount.denominator <= 10**_FINEST:
        return Fraction(amount)
    return Fraction(repr(value))


def _float(amount: Fraction) -> float:
    """An exact total as a float (``inf`` beyond the largest float)."""
    try:
        return float(amount)
    except OverflowError:
        return math.inf


def _shown(given: SupportsFloat) -> str:
    """``1,234`` tokens, ``0.6`` dollars: thousands separated, up to two decimals, or 6 digits below 1."""
    amount = float(given)  # a limit as given may be a Fraction, which has no format spec before 3.12
    if amount < 1:
        return f"{amount:.6g}"
    return f"{amount:,.2f}".rstrip("0").rstrip(".")
