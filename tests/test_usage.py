"""Tests for helpers.usage: the spending guard reads real responses, alerts once, stops at the limit."""

from __future__ import annotations

import math
import threading
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

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


def as_float(total: Fraction) -> float:
    """`total` as a float, ``inf`` past the largest one (two amounts of 1e308 make more)."""
    try:
        return float(total)
    except OverflowError:
        return math.inf


amounts = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**6))


@given(st.lists(amounts, max_size=20), st.integers(1, 10**6))
def test_no_sequence_of_amounts_lowers_the_total_or_lets_a_spent_budget_through(sequence, limit) -> None:
    budget = UsageBudget(limit)
    total, broken = Fraction(0), False
    for amount in sequence:
        try:
            budget.add(amount)
        except InvalidUsageError:
            broken = True
        else:
            assert math.isfinite(amount) and amount >= 0
            total += Fraction(repr(amount))  # a float counts as the decimal it prints as
        assert budget.used() == as_float(total) and budget.used() >= 0
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


# -- what the errors say, word for word ---------------------------------------------------------------


def test_the_exceeded_message_says_how_to_get_going_again() -> None:
    budget = UsageBudget(limit=1000, per_key=True)
    budget.add(1234.4, A)
    with pytest.raises(BudgetExceededError) as caught:
        budget.check(A)
    assert str(caught.value) == (f"usage budget for key {fingerprint(A)} is spent: 1,234.4 of 1,000 used; "
                                 "raise the limit, or reset() it when the next period starts")


@pytest.mark.parametrize(("limit", "alert_at", "message"), [
    (0, 0.8, "limit must be a finite positive amount, got 0"),
    (math.inf, 0.8, "limit must be a finite positive amount, got inf"),
    (10, 1.5, "alert_at is a fraction of the limit (0 < alert_at <= 1), got 1.5"),
])
def test_a_nonsense_setting_is_named_with_its_value(limit, alert_at, message) -> None:
    with pytest.raises(BudgetSettingError) as caught:
        UsageBudget(limit, alert_at=alert_at)
    assert str(caught.value) == message


def test_an_alert_at_the_limit_itself_is_allowed_and_fires_when_the_limit_is_reached() -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=10, alert_at=1, on_alert=alerts.append)
    budget.add(9)
    assert alerts == []
    budget.add(1)
    assert alerts == [BudgetAlert(POOL, 10, 10, 10)]


def test_a_per_key_budget_asked_without_a_key_says_to_pass_it() -> None:
    with pytest.raises(ScopeError) as caught:
        UsageBudget(limit=10, per_key=True).used()
    assert str(caught.value) == "this budget is per key: pass the key the call used"


def test_a_stopped_scope_keeps_saying_why_on_every_check() -> None:
    budget = UsageBudget(limit=100)
    with pytest.raises(InvalidUsageError) as first:
        budget.add(math.nan)
    with pytest.raises(InvalidUsageError) as later:
        budget.check()
    assert str(later.value) == str(first.value) == (
        "usage amount nan is not a finite number >= 0 (check the measure); scope pool refuses calls "
        "until reset()")


def test_a_response_without_usage_says_how_to_get_it_from_a_stream() -> None:
    with pytest.raises(MissingUsageError) as caught:
        UsageBudget(limit=10).record({"choices": []})
    assert str(caught.value) == ('the response has no usage to count; for streams pass '
                                 'stream_options={"include_usage": True} and record the last chunk')


# -- SDK-shaped objects (attributes, not keys) ----------------------------------------------------------


def test_an_sdk_response_or_usage_object_lacking_the_attribute_is_missing_usage_not_a_crash() -> None:
    budget = UsageBudget(limit=10)
    with pytest.raises(MissingUsageError, match="has no usage to count"):
        budget.record(SimpleNamespace(choices=[]))  # a stream chunk without include_usage
    with pytest.raises(MissingUsageError) as caught:
        budget.record(SimpleNamespace(usage=SimpleNamespace(prompt_tokens=3)))
    assert str(caught.value) == "the usage block has no total_tokens"
    assert budget.record(SimpleNamespace(usage=SimpleNamespace(total_tokens=4))) == 4


def test_text_is_never_counted_even_a_str_that_converts_to_a_number() -> None:
    class NumericText(str):
        def __float__(self) -> float:
            return 5.0

    budget = UsageBudget(limit=10)
    with pytest.raises(InvalidUsageError):
        budget.add(NumericText("5"))
    assert budget.used() == 0


# -- per-key budgets: each call counts against the key it used ----------------------------------------


def test_per_key_used_remaining_record_and_reset_follow_the_key_given() -> None:
    budget = UsageBudget(limit=100, per_key=True)
    assert budget.record({"usage": {"total_tokens": 30}}, A) == 30
    budget.record({"usage": {"total_tokens": 5}}, B)
    assert (budget.used(A), budget.remaining(A), budget.used(B), budget.remaining(B)) == (30, 70, 5, 95)
    budget.reset(A)
    assert budget.usage_by_scope() == {fingerprint(B): 5}
    budget.reset()
    assert budget.usage_by_scope() == {}


def test_reset_of_one_key_clears_its_stop_and_its_alert_but_not_the_others() -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=10, per_key=True, alert_at=0.5, on_alert=alerts.append)
    budget.add(6, A)
    budget.add(6, B)
    with pytest.raises(InvalidUsageError):
        budget.add(math.nan, B)
    budget.reset(A)
    with pytest.raises(InvalidUsageError):
        budget.check(B)  # B's stop outlives A's reset
    budget.add(6, A)  # a new period for A alerts again
    budget.add(1, B)  # B already alerted in its period
    assert [a.scope for a in alerts] == [fingerprint(A), fingerprint(B), fingerprint(A)]


def test_a_metered_call_in_a_per_key_budget_is_checked_sent_and_counted_with_its_own_key() -> None:
    provider = FakeProvider({A: "ok", B: "ok"})
    budget = UsageBudget(limit=10_000, per_key=True)
    ask = budget.metered(chat_with(provider))
    tokens = ask(B).usage.total_tokens
    assert budget.usage_by_scope() == {fingerprint(B): tokens}
    assert [r.key_fingerprint for r in provider.requests] == [fingerprint(B)]
    budget.add(10_000, B)
    with pytest.raises(BudgetExceededError):
        ask(B)
    ask(A)
    assert [r.key_fingerprint for r in provider.requests] == [fingerprint(B), fingerprint(A)]


def test_a_shared_budget_counts_under_the_scope_named_pool() -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=10, on_alert=alerts.append)
    budget.add(9, A)  # the key does not matter when the budget is shared
    assert budget.usage_by_scope() == {"pool": 9}
    assert [a.scope for a in alerts] == ["pool"]


# -- money: amounts add up as the decimals they are written as ------------------------------------------


def test_ten_calls_at_ten_cents_spend_exactly_one_dollar_as_floats_and_as_decimals() -> None:
    for cents in (0.10, Decimal("0.10")):
        budget = UsageBudget(limit=1.0)
        for _ in range(9):
            budget.add(cents)
        budget.check()  # 0.90 spent: one more call is allowed
        budget.add(cents)
        assert budget.used() == 1.0 and budget.remaining() == 0.0
        with pytest.raises(BudgetExceededError):
            budget.check()


def test_ten_calls_at_thirty_cents_reach_a_three_dollar_limit() -> None:
    budget = UsageBudget(limit=3)
    for _ in range(10):
        budget.add(0.3)  # as floats they add up to 2.9999999999999996
    with pytest.raises(BudgetExceededError):
        budget.check()


cents = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(cents, st.booleans()), max_size=30), cents.filter(lambda d: d > 0))
def test_the_total_is_the_decimal_sum_of_the_amounts_however_they_are_given(amounts, limit) -> None:
    budget = UsageBudget(limit=float(limit))
    for amount, as_float in amounts:
        budget.add(float(amount) if as_float else amount)
    spent = sum((amount for amount, _ in amounts), Decimal(0))
    assert budget.used() == float(spent)
    if spent >= limit:
        with pytest.raises(BudgetExceededError):
            budget.check()
    else:
        budget.check()


def test_a_decimal_limit_and_threshold_work_like_numbers() -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=Decimal("5.00"), alert_at=Decimal("0.5"), on_alert=alerts.append)
    budget.add(Decimal("2.50"))
    assert [(a.used, a.threshold) for a in alerts] == [(2.5, 2.5)]
    assert budget.remaining() == 2.5
    budget.add(Decimal("2.50"))
    with pytest.raises(BudgetExceededError):
        budget.check()


@pytest.mark.parametrize(("limit", "alert_at"), [("5", 0.8), (None, 0.8), (5, "0.5"), (5, None), (b"5", 0.8)])
def test_a_setting_that_is_not_a_number_is_a_budget_setting_error(limit, alert_at) -> None:
    with pytest.raises(BudgetSettingError):
        UsageBudget(limit, alert_at=alert_at)


def test_a_money_budget_is_shown_in_money_not_rounded_to_whole_units() -> None:
    budget = UsageBudget(limit=0.5)
    budget.add(0.6)
    with pytest.raises(BudgetExceededError, match=r"spent: 0\.6 of 0\.5 used;"):
        budget.check()


def test_a_token_count_too_large_for_a_float_stops_the_scope_instead_of_escaping() -> None:
    budget = UsageBudget(limit=10)
    with pytest.raises(InvalidUsageError):
        budget.record({"usage": {"total_tokens": 10**400}})
    with pytest.raises(InvalidUsageError):
        budget.check()


def test_a_token_count_given_as_text_is_refused_not_converted() -> None:
    budget = UsageBudget(limit=10)
    with pytest.raises(InvalidUsageError):
        budget.record({"usage": {"total_tokens": "12"}})
    assert budget.used() == 0


def test_money_counts_are_exact_under_threads(racing) -> None:
    budget = UsageBudget(limit=100)
    workers = [threading.Thread(target=lambda: [budget.add(Decimal("0.01")) for _ in range(1000)])
               for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert budget.used() == 80.0


def test_a_stream_is_counted_from_its_last_chunk_only_when_usage_was_asked_for() -> None:
    client = FakeProvider({A: "ok"}).client(A)
    hello = [{"role": "user", "content": "say something short"}]
    budget = UsageBudget(limit=1000)
    *_, last = client.chat.completions.create(model="gpt-4o-mini", messages=hello, stream=True)
    with pytest.raises(MissingUsageError, match="include_usage"):
        budget.record(last)
    *_, last = client.chat.completions.create(model="gpt-4o-mini", messages=hello, stream=True,
                                              stream_options={"include_usage": True})
    whole = chat_with(FakeProvider({A: "ok"}))(A)
    assert budget.record(last) == whole.usage.total_tokens


def test_raising_the_limit_as_the_error_advises_lets_calls_through_again() -> None:
    alerts: list[BudgetAlert] = []
    budget = UsageBudget(limit=1000, alert_at=0.5, on_alert=alerts.append)
    budget.add(1200)
    with pytest.raises(BudgetExceededError):
        budget.check()
    budget.limit = 2000
    budget.check()
    assert budget.remaining() == 800
    budget.alert_at = 0.25
    assert (budget.limit, budget.alert_at) == (2000, 0.25)
    with pytest.raises(BudgetSettingError):
        budget.limit = math.nan
    with pytest.raises(BudgetSettingError):
        budget.alert_at = 2
    assert (budget.limit, budget.alert_at) == (2000, 0.25)


@pytest.mark.parametrize("tiny", [Decimal("1e-99999999"), Fraction(1, 10**100000), Decimal("1e-400")])
def test_an_amount_with_absurd_precision_is_counted_as_its_float_without_slowing_the_budget(tiny) -> None:
    # Taken exactly, 1e-99999999 would need a 330-million-bit denominator in every later sum.
    budget = UsageBudget(limit=1)
    budget.add(tiny)
    budget.add(Decimal("0.25"))
    assert budget.used() == 0.25 + float(tiny)
    for scope, used in budget._used.items():  # noqa: SLF001 (the exact totals stay small)
        assert used.denominator <= 10**18, scope


def test_a_scope_with_nothing_spent_has_the_whole_limit_remaining() -> None:
    budget = UsageBudget(limit=Decimal("2.5"), per_key=True)
    assert budget.remaining(A) == budget.remaining(B) == 2.5
    budget.add(1, A)
    assert (budget.remaining(A), budget.remaining(B)) == (1.5, 2.5)


@pytest.mark.parametrize("written_as", [Decimal, lambda digits: Fraction(Decimal(digits))])
def test_amounts_with_eighteen_decimal_places_are_counted_to_the_last_place(written_as) -> None:
    # One part in 10**18 apart: as floats both would be 0.12345678901234568 and the limit reached.
    budget = UsageBudget(limit=written_as("0.123456789012345679"))
    budget.add(written_as("0.123456789012345678"))
    budget.check()  # not spent: 1e-18 is left
    budget.add(written_as("0.000000000000000001"))
    with pytest.raises(BudgetExceededError):
        budget.check()


def test_amounts_of_one_or_more_are_shown_with_two_decimals_and_below_one_with_six_digits() -> None:
    budget = UsageBudget(limit=1.5)
    budget.add(1.23456)
    budget.add(0.5)
    with pytest.raises(BudgetExceededError, match=r"spent: 1\.73 of 1\.5 used;"):
        budget.check()
    small = UsageBudget(limit=0.0012345678)
    small.add(0.0012345678)
    with pytest.raises(BudgetExceededError, match=r"spent: 0\.00123457 of 0\.00123457 used;"):
        small.check()


@pytest.mark.parametrize("limit", [Fraction(5, 2), Decimal("2.5"), 2.5])
def test_a_limit_of_any_accepted_type_is_shown_in_the_error_and_the_repr(limit) -> None:
    budget = UsageBudget(limit=limit, alert_at=Fraction(1, 2))
    budget.add(3)
    assert repr(budget).startswith("UsageBudget(limit=2.5, alert_at=0.5, used=")
    with pytest.raises(BudgetExceededError, match=r"spent: 3 of 2\.5 used;"):
        budget.check()
