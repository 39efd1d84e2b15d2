"""Tests for helpers.key_pool: state transitions from real SDK errors, failover, threads, asyncio."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter

import httpx2
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.key_formats import fake_key, fingerprint
from helpers.key_pool import (
    KeyPool,
    KeyState,
    NoHealthyKeyError,
    NoKeysConfiguredError,
    call_with_failover,
    call_with_failover_async,
    parse_retry_after,
)
from helpers.mock_provider import FakeProvider
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


def rate_limit_error(headers: dict[str, str], code: str = "rate_limit_exceeded") -> openai.RateLimitError:
    request = httpx2.Request("POST", "https://fake-llm.invalid/v1/chat/completions")
    response = httpx2.Response(429, headers=headers, request=request)
    return openai.RateLimitError("rate limited", response=response, body={"code": code})


def status_error(cls: type[openai.APIStatusError], status: int) -> openai.APIStatusError:
    request = httpx2.Request("GET", "https://fake-llm.invalid/v1/models")
    return cls("refused", response=httpx2.Response(status, request=request), body=None)


# -- state transitions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "state"),
    [("invalid", KeyState.RETIRED), ("forbidden", KeyState.RETIRED), ("quota_exhausted", KeyState.PARKED)],
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


def test_a_key_back_from_its_rest_cools_again_for_the_new_retry_after() -> None:
    clock = FakeClock()
    pool = KeyPool([A, B], clock=clock)
    pool.record_failure(A, rate_limit_error({"retry-after": "10"}))
    clock.advance(25)
    assert state_of(pool, A) is KeyState.OK
    pool.record_failure(A, rate_limit_error({"retry-after": "5"}))
    assert (state_of(pool, A), stats_of(pool, A).usable_in) == (KeyState.COOLING, 5.0)


def test_record_failure_refuses_a_key_it_does_not_hold() -> None:
    with pytest.raises(KeyError, match=fingerprint(C)) as caught:
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


def test_reinstate_refuses_a_key_it_does_not_hold() -> None:
    with pytest.raises(KeyError, match=fingerprint(C)):
        KeyPool([A]).reinstate(C)


# -- Retry-After ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),  # milliseconds win
        ({"Retry-After": "20"}, 20.0),
        ({"retry-after": " 2.5 "}, 2.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after-ms": "soon", "retry-after": "7"}, 7.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 30.0),  # an HTTP date, 30 s after `now`
        ({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),  # a date in the past
        ({"retry-after": "inf"}, None),
        ({"retry-after": "tomorrow-ish"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, seconds) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after(headers, now=now) == seconds


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


# -- round robin, threads and asyncio ----------------------------------------------------------------


@given(st.integers(1, 6), st.integers(0, 50))
def test_round_robin_is_exactly_fair(key_count, acquires) -> None:
    pool = KeyPool(KEYS[:key_count])
    handed = [pool.acquire() for _ in range(acquires)]
    assert handed == [KEYS[i % key_count] for i in range(acquires)]


def test_eight_threads_get_exact_round_robin_counts_and_never_a_retired_key() -> None:
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


def test_a_key_retired_mid_run_is_never_handed_out_afterwards() -> None:
    pool = KeyPool(KEYS[:4])
    victim = KEYS[1]
    revoked = threading.Event()
    violations: list[str] = []
    start = threading.Barrier(8)
    error = status_error(openai.PermissionDeniedError, 403)

    def work(number: int) -> None:
        start.wait()
        for i in range(2000):
            already_revoked = revoked.is_set()
            key = pool.acquire()
            if already_revoked and key == victim:
                violations.append(f"thread {number} got the retired key at step {i}")
            if number == 0 and i == 500:
                pool.record_failure(victim, error)
                revoked.set()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert violations == []
    assert state_of(pool, victim) is KeyState.RETIRED


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
