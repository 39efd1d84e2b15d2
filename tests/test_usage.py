"""Tests for helpers.usage: the spending guard reads real responses, alerts once, stops at the limit."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.key_formats import fake_key, fingerprint
from helpers.key_pool import KeyPool, call_with_failover
from helpers.mock_provider import FakeProvider
from helpers.usage import POOL, BudgetAlert, BudgetExceededError, MissingUsageError, UsageBudget

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
    with pytest.raises(ValueError, match="per key"):
        budget.check()
    budget.reset(A)
    budget.check(A)


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


@pytest.mark.parametrize(("limit", "alert_at"), [(0, 0.8), (-5, 0.8), (10, 0), (10, 1.5)])
def test_nonsense_settings_are_refused(limit, alert_at) -> None:
    with pytest.raises(ValueError):
        UsageBudget(limit, alert_at=alert_at)


@given(st.lists(st.integers(0, 40), max_size=30), st.integers(1, 200), st.floats(0.05, 1.0))
def test_alert_once_exactly_when_the_running_total_first_crosses(amounts, limit, alert_at) -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit, alert_at=alert_at, on_alert=alerts.append)
    totals = [budget.add(a) for a in amounts]
    crossing = [t for t in totals if t >= alert_at * limit]
    assert [a.used for a in alerts] == crossing[:1]


def test_counts_are_exact_under_threads() -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=8 * 1000, alert_at=0.5, on_alert=alerts.append)
    workers = [threading.Thread(target=lambda: [budget.add(1) for _ in range(1000)]) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert budget.used() == 8000
    assert len(alerts) == 1
