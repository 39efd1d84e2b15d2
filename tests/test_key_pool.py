"""Tests for helpers.key_pool: state transitions from real SDK errors, failover, threads, asyncio."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import Counter

import httpx2
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from helpers.key_formats import fake_key, fingerprint
from helpers.key_hygiene import diagnose_key
from helpers.key_pool import (
    InvalidPoolSettingError,
    KeyPool,
    KeyPoolError,
    KeyState,
    MalformedKeyError,
    NoHealthyKeyError,
    NoKeysConfiguredError,
    NotAKeyListError,
    UnknownKeyError,
    call_with_failover,
    call_with_failover_async,
)
from helpers.mock_provider import OPENAI_QUOTA_BEHAVIOURS, FakeProvider
from helpers.provider_errors import describe_error
from tutorial.clock import FakeClock

KEYS = [fake_key("openai-project", seed) for seed in range(6)]
A, B, C, D = KEYS[:4]


def models(provider: FakeProvider):
    """fn(key) for call_with_failover: one cheap request with `key`."""
    client = provider.client(A)
    return lambda key: client.with_options(api_key=key).models.list()


def state_of(pool: KeyPool, key: str) -> KeyState:
    return next(s.state for s in pool.stats() if s.fingerprint == fingerprint(key))


def stats_of(pool: KeyPool, key: str):
    return next(s for s in pool.stats() if s.fingerprint == fingerprint(key))


def fail_with(provider: FakeProvider, pool: KeyPool, key: str) -> Exception:
    """Make one request with `key`, report its failure to the pool, return the SDK's exception."""
    with pytest.raises(openai.OpenAIError) as caught:
        provider.client(key).models.list()
    assert pool.record_failure(key, caught.value) is True
    return caught.value


def rate_limit_error(headers: dict[str, str], code: str = "rate_limit_exceeded",
                     type_: str = "requests") -> openai.RateLimitError:
    request = httpx2.Request("POST", "https://fake-llm.invalid/v1/chat/completions")
    response = httpx2.Response(429, headers=headers, request=request)
    return openai.RateLimitError("rate limited", response=response, body={"code": code, "type": type_})


def status_error(cls: type[openai.APIStatusError], status: int) -> openai.APIStatusError:
    request = httpx2.Request("GET", "https://fake-llm.invalid/v1/models")
    return cls("refused", response=httpx2.Response(status, request=request), body=None)


# -- state transitions --------------------------------------------------------------------------


SPENT_BUDGETS = [*OPENAI_QUOTA_BEHAVIOURS, "insufficient_credits", "usage_limits"]


@pytest.mark.parametrize(
    ("behaviour", "state"),
    [("invalid", KeyState.RETIRED), ("forbidden", KeyState.RETIRED),
     *((behaviour, KeyState.PARKED) for behaviour in SPENT_BUDGETS)],
)
def test_keys_that_waiting_cannot_fix_leave_rotation_until_reinstated(behaviour, state) -> None:
    clock = FakeClock()
    pool = KeyPool([A, B], clock=clock)
    fail_with(FakeProvider({A: behaviour}), pool, A)
    assert state_of(pool, A) is state
    clock.advance(10_000)
    assert {pool.acquire() for _ in range(10)} == {B}
    pool.reinstate(fingerprint(A))
    assert state_of(pool, A) is KeyState.OK
    assert {pool.acquire() for _ in range(10)} == {A, B}


def test_rate_limited_key_cools_for_retry_after_then_returns() -> None:
    clock = FakeClock()
    pool = KeyPool([A, B], clock=clock)
    fail_with(FakeProvider({A: "rate_limited"}, retry_after=12.5), pool, A)
    assert state_of(pool, A) is KeyState.COOLING
    assert stats_of(pool, A).usable_in == 12.5
    assert {pool.acquire() for _ in range(6)} == {B}
    clock.advance(12.4)
    assert {pool.acquire() for _ in range(6)} == {B}
    clock.advance(0.1)
    assert state_of(pool, A) is KeyState.OK
    assert {pool.acquire() for _ in range(6)} == {A, B}


@pytest.mark.parametrize("code", ["credit_balance_exhausted", "project_spend_limit_exceeded",
                                  "a_code_openai_adds_next_year"])
def test_a_429_of_type_insufficient_quota_parks_the_key_whatever_its_code(code) -> None:
    pool = KeyPool([A, B], clock=FakeClock())
    error = rate_limit_error({"retry-after": "1"}, code=code, type_="insufficient_quota")
    assert pool.record_failure(A, error)
    assert state_of(pool, A) is KeyState.PARKED


def test_a_quota_code_parks_the_key_even_without_the_type() -> None:
    pool = KeyPool([A], clock=FakeClock())
    pool.record_failure(A, rate_limit_error({}, code="organization_spend_limit_exceeded", type_="requests"))
    assert state_of(pool, A) is KeyState.PARKED


def test_rate_limit_without_retry_after_uses_the_default_cooldown() -> None:
    clock = FakeClock()
    pool = KeyPool([A], clock=clock, default_cooldown=42.0)
    assert pool.record_failure(A, rate_limit_error({})) is True
    assert stats_of(pool, A).usable_in == 42.0


@pytest.mark.parametrize("behaviour", ["server_error", "unreachable"])
def test_transient_errors_rest_the_key_only_briefly(behaviour) -> None:
    clock = FakeClock()
    pool = KeyPool([A, B], clock=clock, transient_cooldown=1.5)
    fail_with(FakeProvider({A: behaviour}), pool, A)
    assert state_of(pool, A) is KeyState.COOLING
    assert stats_of(pool, A).usable_in == 1.5
    clock.advance(1.5)
    assert state_of(pool, A) is KeyState.OK


def test_a_late_rate_limit_neither_revives_a_retired_key_nor_shortens_a_rest() -> None:
    clock = FakeClock()
    pool = KeyPool([A, B], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "60"}))
    pool.record_failure(A, rate_limit_error({"retry-after": "5"}))
    assert stats_of(pool, A).usable_in == 60
    fail_with(FakeProvider({A: "invalid"}), pool, A)
    pool.record_failure(A, rate_limit_error({"retry-after": "1"}))
    clock.advance(120)
    assert state_of(pool, A) is KeyState.RETIRED
    assert stats_of(pool, A).failures == 4


def test_a_later_429_with_a_longer_retry_after_extends_a_cooling_key() -> None:
    clock = FakeClock()
    pool = KeyPool([A, B], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "10"}))
    clock.advance(4)
    pool.record_failure(A, rate_limit_error({"retry-after": "30"}))
    assert stats_of(pool, A).usable_in == 30.0
    clock.advance(29)
    assert state_of(pool, A) is KeyState.COOLING
    clock.advance(1)
    assert state_of(pool, A) is KeyState.OK


# The order a verdict may move in, written out here independently of the module's own table.
SEVERITY_ORDER = [KeyState.OK, KeyState.COOLING, KeyState.PARKED, KeyState.RETIRED]
ERRORS_FOR = {
    KeyState.COOLING: lambda: rate_limit_error({"retry-after": "50"}),
    KeyState.PARKED: lambda: rate_limit_error({}, code="insufficient_quota", type_="insufficient_quota"),
    KeyState.RETIRED: lambda: status_error(openai.AuthenticationError, 401),
}


@pytest.mark.parametrize("first", list(ERRORS_FOR), ids=str)
@pytest.mark.parametrize("then", list(ERRORS_FOR), ids=str)
def test_a_verdict_only_ever_moves_to_a_more_serious_state(first, then) -> None:
    pool = KeyPool([A, B], clock=FakeClock())
    pool.record_failure(A, ERRORS_FOR[first]())
    pool.record_failure(A, ERRORS_FOR[then]())
    assert state_of(pool, A) is max(first, then, key=SEVERITY_ORDER.index)


@given(st.lists(st.sampled_from(list(ERRORS_FOR)), min_size=1, max_size=8))
def test_after_any_sequence_of_errors_the_key_is_in_the_most_serious_state_seen(states) -> None:
    pool = KeyPool([A, B], clock=FakeClock())
    for state in states:
        pool.record_failure(A, ERRORS_FOR[state]())
    assert state_of(pool, A) is max(states, key=SEVERITY_ORDER.index)


def test_a_key_back_from_its_rest_cools_again_for_the_new_retry_after() -> None:
    clock = FakeClock()
    pool = KeyPool([A, B], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "10"}))
    clock.advance(25)
    assert state_of(pool, A) is KeyState.OK
    pool.record_failure(A, rate_limit_error({"retry-after": "5"}))
    assert (state_of(pool, A), stats_of(pool, A).usable_in) == (KeyState.COOLING, 5.0)


def test_record_failure_refuses_a_key_it_does_not_hold() -> None:
    with pytest.raises(UnknownKeyError, match=fingerprint(C)) as caught:
        KeyPool([A]).record_failure(C, rate_limit_error({}))
    assert C not in str(caught.value)


def test_errors_about_the_request_are_not_blamed_on_the_key() -> None:
    provider = FakeProvider({A: "ok", B: "ok"})
    pool = KeyPool([A, B])
    client = provider.client(A)
    with pytest.raises(openai.NotFoundError):
        call_with_failover(pool, lambda key: client.with_options(api_key=key).models.retrieve("no-model"))
    assert [s.state for s in pool.stats()] == [KeyState.OK, KeyState.OK]
    assert len(provider.requests) == 1  # a 404 would be the same with every key: no failover


def test_a_header_the_http_library_refuses_is_the_callers_fault_not_the_keys() -> None:
    provider = FakeProvider({A: "ok", B: "ok"})
    pool = KeyPool([A, B])
    client = provider.client(A, default_headers={"X-Trace": "run-42\n"})  # a newline: h11 refuses it
    with pytest.raises(openai.APIConnectionError):
        call_with_failover(pool, lambda key: client.with_options(api_key=key).models.list())
    assert [s.state for s in pool.stats()] == [KeyState.OK, KeyState.OK]
    assert provider.requests == []


def test_an_exception_of_the_callers_own_code_is_raised_as_it_is() -> None:
    pool = KeyPool([A, B])

    def broken(key: str) -> None:
        raise ValueError("a bug in the caller")

    with pytest.raises(ValueError, match="a bug in the caller"):
        call_with_failover(pool, broken)
    assert [(s.state, s.failures) for s in pool.stats()] == [(KeyState.OK, 0), (KeyState.OK, 0)]


# -- a missing scope is not a bad key ---------------------------------------------------------------


def test_a_key_missing_a_scope_stays_in_service_and_the_call_moves_to_the_next_key(caplog) -> None:
    provider = FakeProvider({A: "missing_scope", B: "ok"})
    pool = KeyPool([A, B], clock=FakeClock())
    with caplog.at_level(logging.INFO, logger="helpers.key_pool"):
        listed = call_with_failover(pool, models(provider))
    assert len(listed.data) > 0
    assert [r.status for r in provider.requests] == [401, 200]
    a = stats_of(pool, A)
    assert (a.state, a.failures, a.last_error) == (KeyState.OK, 1, "AuthenticationError 401 (missing scope)")
    assert "fine for other calls" in caplog.text and A not in caplog.text
    client = provider.client(A)
    chat = call_with_failover(pool, lambda key: client.with_options(api_key=key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]))
    assert chat.choices  # the restricted key serves the calls it may make
    assert provider.requests[-1].key_fingerprint == fingerprint(A)


def test_when_no_key_holds_the_scope_the_call_fails_and_every_key_stays_in_service() -> None:
    provider = FakeProvider({A: "missing_scope", B: "missing_scope"})
    pool = KeyPool([A, B], clock=FakeClock())
    with pytest.raises(NoHealthyKeyError, match="already tried once") as caught:
        call_with_failover(pool, models(provider))
    assert isinstance(caught.value.__cause__, openai.AuthenticationError)
    assert caught.value.retry_in == 0.0
    assert [s.state for s in pool.stats()] == [KeyState.OK, KeyState.OK]


def test_a_missing_scope_never_softens_an_earlier_verdict() -> None:
    pool = KeyPool([A, B], clock=FakeClock())
    pool.record_failure(A, rate_limit_error({"retry-after": "40"}))
    with pytest.raises(openai.AuthenticationError) as caught:
        FakeProvider({A: "missing_scope"}).client(A).models.list()
    assert pool.record_failure(A, caught.value) is True
    assert (state_of(pool, A), stats_of(pool, A).usable_in) == (KeyState.COOLING, 40.0)


def test_reinstate_refuses_a_key_it_does_not_hold() -> None:
    with pytest.raises(UnknownKeyError, match=fingerprint(C)):
        KeyPool([A]).reinstate(C)


# -- Retry-After (parsed by provider_errors, capped by the pool) ----------------------------------

NOW = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT


@pytest.mark.parametrize("value", ["1e308", "inf", "Wed, 21 Oct 99999 07:28:00 GMT"])
def test_an_absurd_retry_after_rests_a_key_for_the_cap_not_forever(value) -> None:
    clock = FakeClock()
    pool = KeyPool([A, B], clock=clock, wall_clock=lambda: NOW, max_retry_after=90)
    pool.record_failure(A, rate_limit_error({"retry-after": value}))
    assert stats_of(pool, A).usable_in == 90
    clock.advance(90)
    assert state_of(pool, A) is KeyState.OK


def test_an_unreadable_retry_after_rests_a_key_for_the_default_cooldown() -> None:
    pool = KeyPool([A], clock=FakeClock(), default_cooldown=12)
    pool.record_failure(A, rate_limit_error({"retry-after": "nan"}))
    assert stats_of(pool, A).usable_in == 12


def test_pool_reads_an_http_date_with_its_wall_clock() -> None:
    pool = KeyPool([A], clock=FakeClock(), wall_clock=lambda: 1445412480.0)
    pool.record_failure(A, rate_limit_error({"retry-after": "Wed, 21 Oct 2015 07:28:45 GMT"}))
    assert stats_of(pool, A).usable_in == 45.0


# -- failover and the all-keys-bad error ------------------------------------------------------------


def test_failover_skips_bad_keys_and_tries_each_at_most_once() -> None:
    provider = FakeProvider({A: "invalid", B: "rate_limited", C: "server_error", D: "ok"})
    pool = KeyPool([A, B, C, D], clock=FakeClock())
    result = call_with_failover(pool, models(provider))
    assert len(result.data) > 0
    assert provider.requests_by_key() == Counter({fingerprint(k): 1 for k in (A, B, C, D)})
    assert [s.state for s in pool.stats()] == [KeyState.RETIRED, KeyState.COOLING, KeyState.COOLING, "ok"]


def test_all_keys_failing_raises_at_once_saying_when_the_earliest_returns() -> None:
    provider = FakeProvider({A: "rate_limited", B: "rate_limited", C: "invalid"}, retry_after=20)
    provider.set(A, "ok")
    clock = FakeClock()
    pool = KeyPool([A, B, C], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "35"}))
    with pytest.raises(NoHealthyKeyError) as caught:
        call_with_failover(pool, models(provider))
    error = caught.value
    assert error.retry_in == 20.0
    assert f"{fingerprint(B)} (key 2), is usable again in 20.0 s" in str(error)
    assert error.states == {"cooling": 2, "retired": 1}
    assert isinstance(error.__cause__, openai.AuthenticationError)
    assert provider.requests_by_key() == Counter({fingerprint(B): 1, fingerprint(C): 1})
    clock.advance(20)
    assert pool.acquire() == B  # the one that said 20 s, not A (35 s)


def test_when_waiting_cannot_help_the_error_says_so() -> None:
    provider = FakeProvider({A: "invalid", B: "quota_exhausted"})
    pool = KeyPool([A, B])
    with pytest.raises(NoHealthyKeyError, match="waiting will not help") as caught:
        call_with_failover(pool, models(provider))
    assert caught.value.retry_in is None
    with pytest.raises(NoHealthyKeyError):  # and later calls fail fast, sending nothing
        call_with_failover(pool, models(provider))
    assert len(provider.requests) == 2


def test_keys_tried_in_this_call_are_not_tried_again_even_if_usable() -> None:
    provider = FakeProvider({A: "server_error", B: "server_error"})
    pool = KeyPool([A, B], transient_cooldown=0.0)
    with pytest.raises(NoHealthyKeyError, match=r"already tried once by this call \(2 tried") as caught:
        call_with_failover(pool, models(provider))
    assert caught.value.retry_in == 0.0
    assert len(provider.requests) == 2


def test_nothing_ever_shows_a_key(caplog) -> None:
    provider = FakeProvider({A: "invalid", B: "forbidden", C: "quota_exhausted", D: "rate_limited"})
    pool = KeyPool(KEYS[:4])
    with caplog.at_level(logging.INFO, logger="helpers.key_pool"), pytest.raises(NoHealthyKeyError) as caught:
        call_with_failover(pool, models(provider))
    shown = " ".join([repr(pool), repr(pool.stats()), str(caught.value), caplog.text])
    assert all(fingerprint(k) in shown for k in KEYS[:4])
    assert not any(k in shown or k[-4:] in shown for k in KEYS[:4])


# -- from_env -------------------------------------------------------------------------------------


def test_from_env_reads_plain_and_numbered_keys_with_gaps_and_no_cap() -> None:
    environ = {
        "OPENAI_API_KEY": A,
        "OPENAI_API_KEY_1": f"  {A}\n",  # the same key again, pasted with whitespace
        "OPENAI_API_KEY_2": "",
        "OPENAI_API_KEY_6": B,  # keys 3-5 missing
        "OPENAI_API_KEY_12": C,
        "OPENAI_API_KEY_100": D,
        "OPENAI_API_KEY_BACKUP": KEYS[4],  # not a numbered key
        "OPENAI_API_KEYS": KEYS[5],  # another variable
    }
    pool = KeyPool.from_env("OPENAI_API_KEY", environ)
    assert len(pool) == 4
    assert [s.label for s in pool.stats()] == ["OPENAI_API_KEY", "OPENAI_API_KEY_6", "OPENAI_API_KEY_12",
                                             "OPENAI_API_KEY_100"]
    assert [pool.acquire() for _ in range(4)] == [A, B, C, D]


def test_from_env_orders_numbers_as_numbers_and_works_without_the_plain_name() -> None:
    pool = KeyPool.from_env("K", {"K_10": C, "K_2": B, "K_1": A})
    assert [pool.acquire() for _ in range(3)] == [A, B, C]


@pytest.mark.parametrize("environ", [{}, {"OPENAI_API_KEY": "  ", "OPENAI_API_KEY_1": ""}, {"OTHER_KEY": A}])
def test_from_env_with_no_key_names_the_variables_to_set(environ) -> None:
    with pytest.raises(NoKeysConfiguredError, match="set OPENAI_API_KEY or OPENAI_API_KEY_1"):
        KeyPool.from_env("OPENAI_API_KEY", environ)


@given(st.dictionaries(st.sampled_from(["P", "P_0", "P_1", "P_2", "P_7", "P_31", "P_X", "Q_1"]),
                       st.sampled_from([A, B, C, f" {A} ", "", "  "]), min_size=1))
def test_from_env_keeps_each_distinct_key_once_in_variable_order(environ) -> None:
    order = ["P", "P_0", "P_1", "P_2", "P_7", "P_31"]
    expected = list(dict.fromkeys(environ[n].strip() for n in order if n in environ and environ[n].strip()))
    if not expected:
        with pytest.raises(NoKeysConfiguredError):
            KeyPool.from_env("P", environ)
        return
    pool = KeyPool.from_env("P", environ)
    assert len(pool) == len(expected)
    assert [pool.acquire() for _ in expected] == expected


def test_from_env_refuses_a_key_with_a_copy_paste_mistake_naming_the_variable_not_the_value() -> None:
    broken = A[:20] + "\u200b" + A[20:]
    environ = {"OPENAI_API_KEY": B, "OPENAI_API_KEY_2": "your-openai-api-key-here",
               "OPENAI_API_KEY_3": broken}
    with pytest.raises(MalformedKeyError) as caught:
        KeyPool.from_env("OPENAI_API_KEY", environ)
    message = str(caught.value)
    assert "OPENAI_API_KEY_2: a placeholder" in message and "OPENAI_API_KEY_3: a non-ASCII" in message
    assert A[:20] not in message and A[20:] not in message and "OPENAI_API_KEY:" not in message


# -- what the pool accepts ------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [A, A.encode(), bytearray(A.encode())], ids=["str", "bytes", "bytearray"])
def test_a_single_string_is_refused_not_split_into_one_character_keys(keys) -> None:
    with pytest.raises(NotAKeyListError, match=r"KeyPool\(\[key\]\)") as caught:
        KeyPool(keys)
    assert A not in str(caught.value) and A[-8:] not in str(caught.value)


@pytest.mark.parametrize("keys", [[A, None], {"OPENAI_API_KEY": 42}, 7])
def test_values_that_are_not_keys_are_refused_by_label(keys) -> None:
    with pytest.raises(NotAKeyListError) as caught:
        KeyPool(keys)
    assert A not in str(caught.value)


def test_secret_str_keys_are_unwrapped() -> None:
    pool = KeyPool({"OPENAI_API_KEY": SecretStr(A), "OPENAI_API_KEY_1": SecretStr(f" {B}\n")})
    assert [pool.acquire() for _ in range(2)] == [A, B]


@pytest.mark.parametrize("setting", ["default_cooldown", "transient_cooldown", "max_retry_after"])
@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf, "30"])
def test_nonsense_cooldowns_are_refused_by_name(setting, seconds) -> None:
    with pytest.raises(InvalidPoolSettingError, match=setting):
        KeyPool([A], **{setting: seconds})


def test_every_error_of_the_module_shares_one_base_and_keeps_its_builtin_meaning() -> None:
    pairs = [(NoKeysConfiguredError, ValueError), (NotAKeyListError, TypeError),
             (MalformedKeyError, ValueError), (InvalidPoolSettingError, ValueError),
             (UnknownKeyError, KeyError), (NoHealthyKeyError, RuntimeError)]
    for error, builtin in pairs:
        assert issubclass(error, KeyPoolError) and issubclass(error, builtin)


# -- round robin, threads and asyncio ----------------------------------------------------------------


@given(st.integers(1, 6), st.integers(0, 50))
def test_round_robin_is_exactly_fair(key_count, acquires) -> None:
    pool = KeyPool(KEYS[:key_count])
    handed = [pool.acquire() for _ in range(acquires)]
    assert handed == [KEYS[i % key_count] for i in range(acquires)]


def test_eight_threads_get_exact_round_robin_counts_and_never_a_retired_key(racing) -> None:
    pool = KeyPool(KEYS[:5], clock=FakeClock())
    pool.record_failure(KEYS[4], status_error(openai.AuthenticationError, 401))
    threads, per_thread = 8, 3000
    counts: list[Counter[str]] = [Counter() for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(mine: Counter[str]) -> None:
        start.wait()
        for _ in range(per_thread):
            mine[pool.acquire()] += 1

    workers = [threading.Thread(target=work, args=(c,)) for c in counts]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    total = sum(counts, Counter())
    assert total == Counter({k: threads * per_thread // 4 for k in KEYS[:4]})
    assert [s.uses for s in pool.stats()] == [6000, 6000, 6000, 6000, 0]


def test_a_key_retired_mid_run_is_never_handed_out_afterwards(racing) -> None:
    """Eight threads acquire keys; the key is retired while every one of them is mid-run (each has
    made 100 acquires and makes 300 more after it), and none of them gets it again afterwards."""
    pool = KeyPool(KEYS[:4])
    victim = KEYS[1]
    revoked = threading.Event()
    violations: list[str] = []
    progress = [0] * 8
    start = threading.Barrier(9)
    error = status_error(openai.PermissionDeniedError, 403)

    def work(number: int) -> None:
        start.wait()
        after = 0
        for step in range(1_000_000):
            already_revoked = revoked.is_set()
            key = pool.acquire()
            progress[number] = step
            if already_revoked:
                if key == victim:
                    violations.append(f"thread {number} got the retired key at step {step}")
                after += 1
                if after == 300:
                    return

    def revoke() -> None:
        start.wait()
        while min(progress) < 100:
            time.sleep(0.001)
        pool.record_failure(victim, error)
        revoked.set()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    threads.append(threading.Thread(target=revoke))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert violations == []
    assert state_of(pool, victim) is KeyState.RETIRED
    # Handed out until it was retired (about a quarter of the acquires before), never after.
    assert 0 < stats_of(pool, victim).uses <= sum(progress) // 4 + 8


@pytest.mark.claims
def test_sdk_callable_api_key_spreads_load_but_never_learns_of_failures() -> None:
    provider = FakeProvider({A: "ok", B: "ok", C: "ok"})
    pool = KeyPool([A, B, C])
    client = provider.client(pool.acquire)
    for _ in range(6):
        client.models.list()
    assert provider.requests_by_key() == Counter({fingerprint(k): 2 for k in (A, B, C)})
    provider.set(B, "invalid")
    failures = 0
    for _ in range(6):
        try:
            client.models.list()
        except openai.AuthenticationError:
            failures += 1
    assert failures == 2  # the revoked key is still handed out every third request
    assert state_of(pool, B) is KeyState.OK


def test_asyncio_many_coroutines_share_one_pool() -> None:
    provider = FakeProvider({A: "ok", B: "invalid", C: "ok", D: "rate_limited"})
    pool = KeyPool([A, B, C, D], clock=FakeClock())
    client = provider.async_client(A)

    async def ask(key: str):
        return await client.with_options(api_key=key).models.list()

    async def wave() -> list:
        return await asyncio.gather(*(call_with_failover_async(pool, ask) for _ in range(40)))

    first = asyncio.run(wave())
    # Requests already in flight when B failed had B too: each of them failed over, none was lost.
    assert len(first) == 40
    assert [s.state for s in pool.stats()] == [KeyState.OK, KeyState.RETIRED, KeyState.OK, KeyState.COOLING]
    before = provider.requests_by_key()
    assert before[fingerprint(B)] == before[fingerprint(D)] == 10
    second = asyncio.run(wave())
    assert len(second) == 40
    after = provider.requests_by_key() - before
    assert after == Counter({fingerprint(A): 20, fingerprint(C): 20})


@pytest.mark.claims
def test_async_sdk_client_takes_acquire_async() -> None:
    provider = FakeProvider({A: "ok", B: "ok"})
    pool = KeyPool([A, B])
    client = provider.async_client(pool.acquire_async)

    async def main() -> None:
        for _ in range(4):
            await client.models.list()

    asyncio.run(main())
    assert provider.requests_by_key() == Counter({fingerprint(A): 2, fingerprint(B): 2})


def test_an_empty_pool_is_refused() -> None:
    with pytest.raises(NoKeysConfiguredError):
        KeyPool(["", "   "])


# -- what stats, repr, logs and errors say, word for word ---------------------------------------------


def test_usable_in_is_zero_for_every_key_not_cooling() -> None:
    clock = FakeClock()
    pool = KeyPool([A, B, C], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "10"}))
    pool.record_failure(B, status_error(openai.AuthenticationError, 401))
    clock.advance(25)  # A's rest ended 15 s ago: it is ok, not "usable 15 s ago"
    assert [(s.state, s.usable_in) for s in pool.stats()] == [
        (KeyState.OK, 0.0), (KeyState.RETIRED, 0.0), (KeyState.OK, 0.0)]


def test_repr_lists_each_key_by_fingerprint_and_state() -> None:
    pool = KeyPool([A, B], clock=FakeClock())
    pool.record_failure(B, status_error(openai.AuthenticationError, 401))
    assert repr(pool) == f"KeyPool([{fingerprint(A)}:ok, {fingerprint(B)}:retired])"


def test_last_error_is_class_status_and_code_with_no_suffix_unless_a_scope_is_missing() -> None:
    pool = KeyPool([A, B], clock=FakeClock())
    pool.record_failure(A, rate_limit_error({"retry-after": "1"}))
    pool.record_failure(B, status_error(openai.AuthenticationError, 401))
    assert [s.last_error for s in pool.stats()] == ["RateLimitError 429 rate_limit_exceeded",
                                                   "AuthenticationError 401"]


@pytest.mark.parametrize(("error", "state", "level"), [
    (lambda: rate_limit_error({"retry-after": "5"}), "cooling", logging.INFO),  # it comes back by itself
    (lambda: status_error(openai.InternalServerError, 500), "cooling", logging.INFO),
    (lambda: rate_limit_error({}, code="insufficient_quota", type_="insufficient_quota"), "parked",
     logging.WARNING),
    (lambda: status_error(openai.AuthenticationError, 401), "retired", logging.WARNING),
], ids=["429", "500", "quota", "401"])
def test_a_state_change_is_logged_once_at_info_if_it_passes_and_at_warning_if_it_needs_a_person(
        caplog, error, state, level) -> None:
    pool = KeyPool({"OPENAI_API_KEY_2": A}, clock=FakeClock())
    first = error()
    with caplog.at_level(logging.INFO, logger="helpers.key_pool"):
        pool.record_failure(A, first)
        pool.record_failure(A, error())  # the same verdict again: no second line
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (level, f"key {fingerprint(A)} (OPENAI_API_KEY_2) is now {state} after {describe_error(first)}")]


def test_a_missing_scope_is_logged_with_the_state_the_key_keeps(caplog) -> None:
    pool = KeyPool({"OPENAI_API_KEY": A}, clock=FakeClock())
    with pytest.raises(openai.AuthenticationError) as caught:
        FakeProvider({A: "missing_scope"}).client(A).models.list()
    with caplog.at_level(logging.INFO, logger="helpers.key_pool"):
        pool.record_failure(A, caught.value)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, f"key {fingerprint(A)} (OPENAI_API_KEY) stays ok after AuthenticationError 401 "
                       "(missing scope): fine for other calls")]


def test_a_missing_scope_adds_no_rest_to_the_key() -> None:
    pool = KeyPool([A, B], clock=FakeClock())
    with pytest.raises(openai.AuthenticationError) as caught:
        FakeProvider({A: "missing_scope"}).client(A).models.list()
    pool.record_failure(A, caught.value)
    pool.record_failure(A, rate_limit_error({"retry-after": "0.5"}))
    assert stats_of(pool, A).usable_in == 0.5


def test_a_reinstated_key_carries_no_old_rest_into_its_next_one() -> None:
    clock = FakeClock(0.0)  # a monotonic clock may be close to zero (just after boot)
    pool = KeyPool([A, B], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "60"}))
    pool.reinstate(A)
    assert (state_of(pool, A), pool.acquire()) == (KeyState.OK, A)
    pool.record_failure(A, rate_limit_error({"retry-after": "0.25"}))
    assert stats_of(pool, A).usable_in == 0.25


def test_an_unknown_key_error_names_its_fingerprint() -> None:
    with pytest.raises(UnknownKeyError) as caught:
        KeyPool([A]).reinstate(C)
    assert caught.value.args == (f"no key {fingerprint(C)} (by key or fingerprint) in this pool",)


@pytest.mark.parametrize("setting", ["default_cooldown", "transient_cooldown", "max_retry_after"])
def test_a_nonsense_cooldown_error_names_the_setting_and_the_value(setting) -> None:
    with pytest.raises(InvalidPoolSettingError) as caught:
        KeyPool([A], **{setting: -1.0})
    assert str(caught.value) == f"{setting} must be a finite number of seconds >= 0, got -1.0"


def test_refusals_of_what_is_not_a_key_list_name_the_type_and_the_label() -> None:
    with pytest.raises(NotAKeyListError) as caught:
        KeyPool(A)
    assert str(caught.value) == ("KeyPool takes a list of keys or a {label: key} mapping, not a str: "
                                 "for one key, write KeyPool([key])")
    with pytest.raises(NotAKeyListError) as caught:
        KeyPool({"OPENAI_API_KEY": B, "OPENAI_API_KEY_1": 42})
    assert str(caught.value) == "OPENAI_API_KEY_1 is a int, not a key (str or SecretStr)"
    with pytest.raises(NotAKeyListError) as caught:
        KeyPool([A, None])
    assert str(caught.value) == "key 2 is a NoneType, not a key (str or SecretStr)"


def test_malformed_keys_are_listed_by_label_one_finding_each_separated_by_semicolons() -> None:
    keys = {"FIRST": "your-openai-api-key-here", "SECOND": B, "THIRD": A[:20] + "\u200b" + A[20:]}
    with pytest.raises(MalformedKeyError) as caught:
        KeyPool(keys)
    assert str(caught.value) == (
        "KeyPool refuses keys with a copy-paste mistake: "
        f"FIRST: {diagnose_key(keys['FIRST'])[0]}; THIRD: {diagnose_key(keys['THIRD'])[0]}")


def test_an_empty_pool_error_says_a_key_is_needed() -> None:
    with pytest.raises(NoKeysConfiguredError) as caught:
        KeyPool(["", " "])
    assert str(caught.value) == "KeyPool needs at least one non-empty key"


def test_no_healthy_key_messages_give_the_count_of_keys_in_each_state() -> None:
    clock = FakeClock()
    pool = KeyPool([A, B, C], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "7"}))
    pool.record_failure(B, status_error(openai.AuthenticationError, 401))
    with pytest.raises(NoHealthyKeyError) as caught:
        pool.acquire(exclude=[C])
    assert str(caught.value) == ("every usable key was already tried once by this call (1 tried; 1 cooling, "
                                 "1 ok, 1 retired); the last failure is chained")
    pool.record_failure(C, rate_limit_error({}, code="insufficient_quota", type_="insufficient_quota"))
    with pytest.raises(NoHealthyKeyError) as caught:
        pool.acquire()
    assert str(caught.value) == (f"no healthy key (1 cooling, 1 parked, 1 retired); the earliest, "
                                 f"{fingerprint(A)} (key 1), is usable again in 7.0 s")
    clock.advance(7)
    pool.record_failure(A, status_error(openai.PermissionDeniedError, 403))
    with pytest.raises(NoHealthyKeyError) as caught:
        pool.acquire()
    assert str(caught.value) == ("no healthy key (1 parked, 2 retired) and waiting will not help: parked "
                                 "keys need quota (check billing), retired keys need replacing")


# -- defaults, and from_env passes every setting on ---------------------------------------------------


def test_by_default_a_429_without_retry_after_rests_30_s_and_a_5xx_1_s() -> None:
    from_env = KeyPool.from_env("K", {"K_1": A, "K_2": B}, clock=FakeClock())
    for pool in (KeyPool([A, B], clock=FakeClock()), from_env):
        pool.record_failure(A, rate_limit_error({}))
        pool.record_failure(B, status_error(openai.InternalServerError, 503))
        assert [s.usable_in for s in pool.stats()] == [30.0, 1.0]


def test_from_env_passes_its_clocks_and_cooldowns_to_the_pool() -> None:
    clock = FakeClock()
    pool = KeyPool.from_env("K", {"K": A, "K_1": B, "K_2": C}, clock=clock, wall_clock=lambda: NOW,
                            default_cooldown=7.0, transient_cooldown=3.0, max_retry_after=50.0)
    pool.record_failure(A, rate_limit_error({}))
    pool.record_failure(B, status_error(openai.InternalServerError, 500))
    pool.record_failure(C, rate_limit_error({"retry-after": "Wed, 21 Oct 2015 07:28:45 GMT"}))  # NOW + 45 s
    assert [s.usable_in for s in pool.stats()] == [7.0, 3.0, 45.0]
    pool.record_failure(C, rate_limit_error({"retry-after": "900"}))
    assert stats_of(pool, C).usable_in == 50.0
    clock.advance(50)
    assert [s.state for s in pool.stats()] == [KeyState.OK] * 3


# -- the sync and async failover loops behave the same --------------------------------------------------


def failover(mode: str, pool: KeyPool, fn):
    """call_with_failover, or its asyncio twin run to completion, with the same synchronous `fn`."""
    if mode == "sync":
        return call_with_failover(pool, fn)

    async def async_fn(key: str):
        return fn(key)

    return asyncio.run(call_with_failover_async(pool, async_fn))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_failover_tries_each_key_once_then_raises_chained_to_the_last_failure(mode) -> None:
    pool = KeyPool([A, B, C], clock=FakeClock(), transient_cooldown=0.0)  # every key usable again at once
    calls: list[str] = []
    errors: list[Exception] = []

    def fail(key: str) -> None:
        calls.append(key)
        if len(calls) > 3:
            raise AssertionError("a key was tried twice")  # not about the key: ends the loop
        errors.append(status_error(openai.InternalServerError, 500))
        raise errors[-1]

    with pytest.raises(NoHealthyKeyError, match=r"\(3 tried") as caught:
        failover(mode, pool, fail)
    assert calls == [A, B, C]
    assert caught.value.__cause__ is errors[-1]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_failover_with_no_healthy_key_from_the_start_has_no_cause_and_calls_nothing(mode) -> None:
    pool = KeyPool([A], clock=FakeClock())
    pool.record_failure(A, status_error(openai.AuthenticationError, 401))
    calls: list[str] = []
    with pytest.raises(NoHealthyKeyError, match="waiting will not help") as caught:
        failover(mode, pool, calls.append)
    assert caught.value.__cause__ is None and calls == []


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_failover_returns_the_first_answer_from_a_working_key(mode) -> None:
    pool = KeyPool([A, B], clock=FakeClock())
    pool.record_failure(A, status_error(openai.AuthenticationError, 401))
    answer = failover(mode, pool, lambda key: f"answered with {fingerprint(key)}")
    assert answer == f"answered with {fingerprint(B)}"


# -- 403s that are not about the key --------------------------------------------------------------------


def forbidden(code: str, type_: str) -> openai.PermissionDeniedError:
    request = httpx2.Request("POST", "https://fake-llm.invalid/v1/chat/completions")
    return openai.PermissionDeniedError("Error code: 403", response=httpx2.Response(403, request=request),
                                        body={"code": code, "type": type_, "message": "...", "param": None})


def test_a_403_for_the_callers_country_is_raised_as_it_is_and_retires_no_key() -> None:
    pool = KeyPool([A, B], clock=FakeClock())
    error = forbidden("unsupported_country_region_territory", "request_forbidden")
    tried: list[str] = []

    def call(key: str) -> None:
        tried.append(key)
        raise error

    with pytest.raises(openai.PermissionDeniedError) as caught:
        call_with_failover(pool, call)
    assert caught.value is error and tried == [A]
    assert [s.state for s in pool.stats()] == [KeyState.OK, KeyState.OK]


def test_a_403_for_a_model_the_keys_project_may_not_use_keeps_the_key_and_tries_the_next() -> None:
    pool = KeyPool([A, B], clock=FakeClock())

    def call(key: str) -> str:
        if key == A:
            raise forbidden("model_not_found", "invalid_request_error")
        return "answered"

    assert call_with_failover(pool, call) == "answered"
    assert state_of(pool, A) is KeyState.OK and stats_of(pool, A).failures == 1


# -- a clock that goes back ------------------------------------------------------------------------------


def test_a_clock_that_goes_back_keeps_each_rest_as_long_as_it_was_not_longer() -> None:
    clock = FakeClock(1000.0)
    pool = KeyPool([A, B], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "10"}))
    clock.now = 0.0  # a wall clock passed as clock=, set back by an hour's NTP correction, say
    assert stats_of(pool, A).usable_in == 10.0
    pool.record_failure(B, rate_limit_error({"retry-after": "20"}))
    with pytest.raises(NoHealthyKeyError) as caught:
        pool.acquire()
    assert caught.value.retry_in == 10.0
    clock.advance(10)
    assert pool.acquire() == A


@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.sampled_from(["429", "500", "none"])), max_size=30))
def test_however_the_clock_moves_no_key_rests_longer_than_the_longest_rest_given(steps) -> None:
    clock = FakeClock(0.0)
    pool = KeyPool([A], clock=clock, default_cooldown=30.0, transient_cooldown=1.0, max_retry_after=120.0)
    errors = {"429": rate_limit_error({"retry-after": "120"}),
              "500": status_error(openai.InternalServerError, 500)}
    for move, what in steps:
        clock.advance(move)
        if what in errors:
            pool.record_failure(A, errors[what])
        assert 0.0 <= stats_of(pool, A).usable_in <= 120.0 + 1e-9  # (now + 120) - now is not always 120


# -- from_env with odd variable names --------------------------------------------------------------------


def test_from_env_takes_a_number_of_any_length_and_only_ascii_digits() -> None:
    environ = {"K": A, "K_" + "9" * 5000: C, "K_2": B, "K_\u0661": D}  # 5000 digits; ARABIC-INDIC ONE
    pool = KeyPool.from_env("K", environ)
    assert [s.label for s in pool.stats()][:2] == ["K", "K_2"] and len(pool) == 3
    assert [pool.acquire() for _ in range(3)] == [A, B, C]


def test_from_env_orders_numbers_with_leading_zeros_by_their_value() -> None:
    pool = KeyPool.from_env("K", {"K_010": C, "K_02": B, "K_1": A})
    assert [pool.acquire() for _ in range(3)] == [A, B, C]


# -- no key on the requests an error keeps ---------------------------------------------------------------


def requests_on_chain(error: BaseException | None) -> list[httpx2.Request]:
    """Every request an exception and its chain keep (the SDK keeps the one it sent)."""
    found, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        for holder in (error, getattr(error, "response", None)):
            try:
                request = getattr(holder, "request", None)
            except RuntimeError:
                request = None
            if isinstance(request, httpx2.Request):
                found.append(request)
        found += requests_on_chain(error.__context__)
        error = error.__cause__
    return found


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("behaviours", [("invalid", "forbidden"), ("rate_limited", "quota_exhausted"),
                                        ("server_error", "unreachable")])
def test_an_error_out_of_failover_keeps_no_key_on_the_requests_it_holds(mode, behaviours) -> None:
    provider = FakeProvider(dict(zip((A, B), behaviours, strict=True)))
    with pytest.raises(NoHealthyKeyError) as caught:
        failover(mode, KeyPool([A, B], clock=FakeClock()), models(provider))
    requests = requests_on_chain(caught.value)
    assert requests  # the SDK's errors are still chained, with their requests
    for request in requests:
        shown = " ".join(f"{name}: {value}" for name, value in request.headers.items())
        assert A not in shown and B not in shown
        assert f"[REDACTED {fingerprint(A)}]" in shown or f"[REDACTED {fingerprint(B)}]" in shown


def test_an_error_about_the_request_is_raised_as_it_is_but_without_the_key() -> None:
    client = FakeProvider({A: "ok"}).client(A)
    ask = lambda key: client.with_options(api_key=key).models.retrieve("gpt-0")  # noqa: E731
    with pytest.raises(openai.NotFoundError) as caught:
        call_with_failover(KeyPool([A], clock=FakeClock()), ask)
    assert caught.value.status_code == 404
    assert all(A not in str(dict(r.headers)) for r in requests_on_chain(caught.value))


def test_a_clock_that_reads_negative_numbers_rests_a_key_exactly_its_retry_after() -> None:
    clock = FakeClock(-500.0)  # a monotonic clock's zero is arbitrary
    pool = KeyPool([A, B], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "20"}))
    assert stats_of(pool, A).usable_in == 20.0
    pool.reinstate(A)
    pool.record_failure(A, rate_limit_error({"retry-after": "5"}))
    assert stats_of(pool, A).usable_in == 5.0


# -- a mapping written the wrong way round -----------------------------------------------------------------


@pytest.mark.parametrize("keys", [{A: "primary"}, {A: 42}, {"OPENAI_API_KEY": B, A: "backup"},
                                  {f"Bearer {A}": B}])
def test_a_label_that_is_a_key_is_refused_without_showing_it(keys, caplog) -> None:
    # {key: label} instead of {label: key}: the label would be shown in stats, logs and errors.
    with caplog.at_level(logging.DEBUG), pytest.raises(NotAKeyListError) as caught:
        KeyPool(keys)
    assert str(caught.value) == (
        "a label of the mapping looks like an API key: the mapping is {label: key}, "
        "e.g. {'OPENAI_API_KEY': key}; labels are shown in stats, logs and errors")
    assert A not in str(caught.value) and A[-8:] not in str(caught.value) and A not in caplog.text


class CarriesRequest(Exception):
    """An error that keeps the request it sent, on itself or on its response (as the SDK's do)."""

    def __init__(self, name: str, request: httpx2.Request, on_response: bool = False) -> None:
        super().__init__(name)
        if on_response:
            self.response = httpx2.Response(500, request=request)
        else:
            self.request = request


def test_every_request_of_a_branching_and_looping_chain_loses_the_key() -> None:
    """The error has a cause and a context; the context's context loops back to the error itself,
    and is met again before the cause: every request is still cleaned, and the walk ends."""
    requests = [httpx2.Request("GET", "https://api.example/v1", headers={"authorization": f"Bearer {A}"})
                for _ in range(3)]
    top = CarriesRequest("top", requests[0])
    top.__cause__ = CarriesRequest("cause", requests[1], on_response=True)
    top.__context__ = looping = CarriesRequest("context", requests[2])
    looping.__context__ = top

    def ask(key: str) -> None:
        raise top

    with pytest.raises(CarriesRequest):
        call_with_failover(KeyPool([A]), ask)
    assert [request.headers["authorization"] for request in requests] == \
        [f"Bearer [REDACTED {fingerprint(A)}]"] * 3


def test_eight_threads_reporting_429s_never_get_a_cooling_key_and_lose_none(racing) -> None:
    """Each thread reports a 429 for every third key it gets; once a report has returned, no acquire
    that starts afterwards may hand that key out. Then time passes and every key is back."""
    clock = FakeClock()
    pool = KeyPool(KEYS, clock=clock)
    cooled = {key: threading.Event() for key in KEYS}
    violations: list[str] = []
    handed_out = [Counter() for _ in range(8)]  # one per thread: a shared Counter's += is not atomic
    start = threading.Barrier(8)
    error = rate_limit_error({"retry-after": "60"})

    def work(number: int) -> None:
        start.wait()
        for step in range(400):
            before = {key for key, event in cooled.items() if event.is_set()}
            try:
                key = pool.acquire()
            except NoHealthyKeyError as no_key:
                assert no_key.retry_in is not None and 0 < no_key.retry_in <= 60
                continue
            handed_out[number][key] += 1
            if key in before:
                violations.append(f"thread {number} got a cooling key at step {step}")
            if step % 3 == 0:
                pool.record_failure(key, error)
                cooled[key].set()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert violations == []
    assert [s.uses for s in pool.stats()] == [sum(c[key] for c in handed_out) for key in KEYS]
    clock.advance(60)
    assert len(pool) == len(KEYS) and {s.state for s in pool.stats()} == {KeyState.OK}
    assert sorted(pool.acquire() for _ in KEYS) == sorted(KEYS)


@pytest.mark.parametrize("reading", [math.nan, math.inf, -math.inf])
def test_a_clock_that_reads_no_time_is_refused_instead_of_benching_keys_forever(reading) -> None:
    pool = KeyPool([A, B], clock=lambda: reading)
    with pytest.raises(InvalidPoolSettingError, match=f"the pool's clock read {reading!r}"):
        pool.acquire()
    with pytest.raises(InvalidPoolSettingError):
        pool.record_failure(A, rate_limit_error({"retry-after": "5"}))
