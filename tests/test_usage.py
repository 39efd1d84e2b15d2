"""Tests for helpers.usage: the spending guard reads real responses, alerts once, stops at the limit."""

from __future__ import annotations

import math
import threading
from decimal import Decimal

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.key_formats import fake_key, fingerprint
from helpers.key_pool import KeyPool, call_with_failover
from helpers.mock_provider import FakeProvider
from helpers.usage import (
    POOL,
    BudgetAlert,
    BudgetExceededError,
    BudgetSettingError,
    InvalidUsageError,
    MissingUsageError,
    ScopeError,
    UsageBudget,
    UsageBudgetError,
)

A, B = fake_key("openai-project", 0), fake_key("openai-project", 1)


def chat_with(provider: FakeProvider):
    client = provider.client(A)
    return lambda key: client.with_options(api_key=key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "say something short"}])


def test_reads_usage_from_a_real_chat_completion() -> None:
    budget = UsageBudget(limit=1000)
    reply = chat_with(FakeProvider({A: "ok"}))(A)
    assert budget.record(reply) == reply.usage.total_tokens
    assert budget.used() == budget.limit - budget.remaining() == reply.usage.total_tokens


def test_alert_fires_once_when_the_threshold_is_crossed() -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=100, alert_at=0.5, on_alert=alerts.append)
    budget.add(49)
    assert alerts == []
    budget.add(1)
    assert alerts == [BudgetAlert(POOL, 50, 100, 50)]
    budget.add(30)
    assert len(alerts) == 1
    budget.reset()
    budget.add(60)
    assert [a.used for a in alerts] == [50, 60]  # a new period alerts again


def test_hard_limit_stops_the_next_call_with_a_clear_error() -> None:
    budget = UsageBudget(limit=100)
    budget.add(99)
    budget.check()
    budget.add(5)
    with pytest.raises(BudgetExceededError, match="usage budget for the pool is spent: 104 of 100") as caught:
        budget.check()
    assert (caught.value.used, caught.value.limit, caught.value.scope) == (104, 100, POOL)


def test_metered_calls_stop_at_the_limit_without_sending_a_request() -> None:
    provider = FakeProvider({A: "ok", B: "ok"})
    pool = KeyPool([A, B])
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=60, alert_at=0.5, on_alert=alerts.append)
    ask = budget.metered(chat_with(provider))
    per_call = ask(A).usage.total_tokens
    calls = 1
    with pytest.raises(BudgetExceededError):
        while True:
            call_with_failover(pool, ask)
            calls += 1
    assert calls == -(-60 // per_call)  # the call that crossed the limit went through; the next did not
    assert len(provider.requests) == calls
    assert len(alerts) == 1


def test_per_key_budgets_are_separate_and_named_by_fingerprint() -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=10, per_key=True, on_alert=alerts.append)
    budget.add(10, A)
    budget.check(B)
    with pytest.raises(BudgetExceededError) as caught:
        budget.check(A)
    assert f"key {fingerprint(A)}" in str(caught.value)
    assert A not in str(caught.value) and A not in repr(budget)
    assert budget.usage_by_scope() == {fingerprint(A): 10}
    assert [a.scope for a in alerts] == [fingerprint(A)]
    with pytest.raises(ScopeError, match="per key"):
        budget.check()
    budget.reset(A)
    budget.check(A)


def test_remaining_never_goes_below_zero() -> None:
    budget = UsageBudget(limit=10)
    budget.add(25)
    assert (budget.used(), budget.remaining()) == (25, 0)


def test_a_response_without_usage_is_an_error_not_zero() -> None:
    budget = UsageBudget(limit=10)
    with pytest.raises(MissingUsageError, match="include_usage"):
        budget.record({"choices": []})
    assert budget.record({"usage": {"total_tokens": 7}}) == 7


def test_measure_can_count_money() -> None:
    def dollars(usage) -> float:
        return usage.prompt_tokens * 0.15e-6 + usage.completion_tokens * 0.60e-6

    budget = UsageBudget(limit=0.01, measure=dollars)
    reply = chat_with(FakeProvider({A: "ok"}))(A)
    expected = reply.usage.prompt_tokens * 0.15e-6 + reply.usage.completion_tokens * 0.60e-6
    assert budget.record(reply) == pytest.approx(expected)


@pytest.mark.parametrize(("limit", "alert_at"), [(0, 0.8), (-5, 0.8), (math.nan, 0.8), (math.inf, 0.8),
                                                 (10, 0), (10, 1.5), (10, math.nan)])
def test_nonsense_settings_are_refused(limit, alert_at) -> None:
    with pytest.raises(BudgetSettingError):
        UsageBudget(limit, alert_at=alert_at)


# -- a measure that goes wrong cannot switch the budget off -------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, -0.5, math.inf, -math.inf, None, "12", 10**400])
def test_an_invalid_amount_is_refused_and_stops_the_scope_until_reset(bad) -> None:
    budget = UsageBudget(limit=100, measure=lambda usage: bad)
    budget.add(10)
    with pytest.raises(InvalidUsageError, match="not a finite number >= 0"):
        budget.record({"usage": {"total_tokens": 5}})
    assert budget.used() == 10  # nothing counted, nothing taken back
    with pytest.raises(InvalidUsageError):
        budget.check()  # fail closed: no more calls until someone looks
    budget.reset()
    budget.check()
    assert budget.used() == 0


def test_a_metered_call_after_an_invalid_amount_sends_no_request() -> None:
    provider = FakeProvider({A: "ok"})
    budget = UsageBudget(limit=10_000, measure=lambda usage: math.nan)  # e.g. a model without a price
    ask = budget.metered(chat_with(provider))
    with pytest.raises(InvalidUsageError):
        ask(A)
    with pytest.raises(InvalidUsageError):
        ask(A)
    assert len(provider.requests) == 1


def test_an_invalid_amount_stops_only_its_own_key_in_a_per_key_budget() -> None:
    budget = UsageBudget(limit=100, per_key=True)
    with pytest.raises(InvalidUsageError):
        budget.add(math.nan, A)
    budget.check(B)
    with pytest.raises(InvalidUsageError):
        budget.check(A)
    budget.reset(A)
    budget.check(A)


amounts = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**6))


@given(st.lists(amounts, max_size=20), st.integers(1, 10**6))
def test_no_sequence_of_amounts_lowers_the_total_or_lets_a_spent_budget_through(sequence, limit) -> None:
    budget = UsageBudget(limit)
    total, broken = 0.0, False
    for amount in sequence:
        try:
            budget.add(amount)
        except InvalidUsageError:
            broken = True
        else:
            assert math.isfinite(amount) and amount >= 0
            total += amount
        assert budget.used() == total and budget.used() >= 0
    if broken or total >= limit:
        with pytest.raises(UsageBudgetError):
            budget.check()
    else:
        budget.check()


def test_decimal_amounts_count() -> None:
    budget = UsageBudget(limit=1, measure=lambda usage: Decimal("0.25"))
    budget.record({"usage": {"total_tokens": 1}})
    assert budget.used() == 0.25


def test_a_usage_block_without_total_tokens_is_missing_usage_not_a_crash() -> None:
    with pytest.raises(MissingUsageError, match="total_tokens"):
        UsageBudget(limit=10).record({"usage": {"prompt_tokens": 3}})


def test_every_error_of_the_module_shares_one_base() -> None:
    for error in (BudgetExceededError, InvalidUsageError, MissingUsageError, BudgetSettingError, ScopeError):
        assert issubclass(error, UsageBudgetError)


@pytest.mark.claims
def test_the_pinned_sdk_manages_hard_spend_limits_for_organizations_and_projects() -> None:
    # What the module docstring says: openai 3.51.0, resources/admin/organization/spend_limit.py and
    # resources/admin/organization/projects/spend_limit.py (an admin key is needed to call them).
    client = openai.OpenAI(api_key="sk-FAKE-unused", admin_api_key="sk-admin-FAKE-unused")
    for resource in (client.admin.organization.spend_limit, client.admin.organization.projects.spend_limit):
        assert all(callable(getattr(resource, verb)) for verb in ("retrieve", "update", "delete"))
    assert callable(client.admin.organization.spend_alerts.list)


@given(st.lists(st.integers(0, 40), max_size=30), st.integers(1, 200), st.floats(0.05, 1.0))
def test_alert_once_exactly_when_the_running_total_first_crosses(amounts, limit, alert_at) -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit, alert_at=alert_at, on_alert=alerts.append)
    totals = [budget.add(a) for a in amounts]
    crossing = [t for t in totals if t >= alert_at * limit]
    assert [a.used for a in alerts] == crossing[:1]


def test_counts_are_exact_under_threads(racing) -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=8 * 1000, alert_at=0.5, on_alert=alerts.append)
    workers = [threading.Thread(target=lambda: [budget.add(1) for _ in range(1000)]) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert budget.used() == 8000
    assert len(alerts) == 1
