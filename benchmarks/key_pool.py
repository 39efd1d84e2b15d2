"""Cost of `KeyPool.acquire()` and of a failure report, against the material's rotator.

    python -m benchmarks.key_pool

The material's rotator is ``itertools.cycle`` behind a method: no health check, no lock. The
pool checks each key's state under a lock, so it costs more per call; this measures how much,
next to what one request to a provider costs (tens to hundreds of milliseconds). It also measures
`KeyPool.record_failure` (reading the SDK's exception, then updating the key under the lock),
which runs once per failed request. Each figure is nanoseconds per call, min / median / max of
ROUNDS runs; the ratios are of the medians, measured side by side in one run.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Callable

import httpx2
import openai

from helpers.key_formats import fake_key
from helpers.key_pool import KeyPool

KEYS = [fake_key("openai-project", seed) for seed in range(6)]
CALLS = 200_000
FAILURES = 20_000
THREADS = 8
ROUNDS = 5


class CycleRotator:
    """The material's rotator, reduced to its rotation: ``next(itertools.cycle(keys))``."""

    def __init__(self, keys: list[str]) -> None:
        self._cycle = itertools.cycle(keys)

    def get_next_key(self) -> str:
        return next(self._cycle)


def per_call_ns(call: Callable[[], object], threads: int, calls: int = CALLS) -> list[float]:
    """Nanoseconds per call, one figure per round: `calls` calls in all, split over `threads` threads."""
    share = calls // threads

    def work() -> None:
        for _ in range(share):
            call()

    figures = []
    for _ in range(ROUNDS):
        workers = [threading.Thread(target=work) for _ in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        figures.append((time.perf_counter() - start) / (share * threads) * 1e9)
    return figures


def spread(figures: list[float]) -> str:
    return f"{min(figures):6.0f} / {statistics.median(figures):6.0f} / {max(figures):6.0f}"


def rate_limit_error() -> openai.RateLimitError:
    request = httpx2.Request("GET", "https://fake-llm.invalid/v1/models")
    response = httpx2.Response(429, headers={"retry-after": "1e308"}, request=request)
    return openai.RateLimitError("rate limited", response=response,
                                 body={"code": "rate_limit_exceeded", "type": "requests"})


def main() -> None:
    pool, rotator = KeyPool(KEYS), CycleRotator(KEYS)
    print(f"acquire() cost, {len(KEYS)} keys, {CALLS:,} calls per round, ns per call: min / median / max "
          f"of {ROUNDS}")
    print(f"{'threads':>8} {'itertools.cycle':>24} {'KeyPool.acquire':>24} {'ratio':>7}")
    medians = {}
    for threads in (1, THREADS):
        baseline = per_call_ns(rotator.get_next_key, threads)
        ours = per_call_ns(pool.acquire, threads)
        medians[threads] = statistics.median(ours)
        ratio = statistics.median(ours) / statistics.median(baseline)
        print(f"{threads:>8} {spread(baseline):>24} {spread(ours):>24} {ratio:>6.1f}x")
    print(f"KeyPool under {THREADS} threads vs 1 thread: {medians[THREADS] / medians[1]:.2f}x per call "
          "(the GIL serialises both; the lock adds contention)")

    error, failing = rate_limit_error(), KeyPool(KEYS)
    failures = per_call_ns(lambda: failing.record_failure(KEYS[0], error), 1, calls=FAILURES)
    print(f"record_failure() of a 429 (classify, parse and cap Retry-After, update): {spread(failures)} ns; "
          f"{statistics.median(failures) / medians[1]:.0f}x one acquire()")


if __name__ == "__main__":
    main()
