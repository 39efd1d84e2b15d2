"""Cost of `KeyPool.acquire()`: one thread and eight threads, against the material's rotator.

    python -m benchmarks.key_pool

The material's rotator is ``itertools.cycle`` behind a method: no health check, no lock. The
pool checks each key's state under a lock, so it costs more per call; this measures how much,
next to what one request to a provider costs (tens to hundreds of milliseconds).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from helpers.key_formats import fake_key
from helpers.key_pool import KeyPool

KEYS = [fake_key("openai-project", seed) for seed in range(6)]
CALLS = 200_000
THREADS = 8
ROUNDS = 5


class CycleRotator:
    """The material's rotator, reduced to its rotation: ``next(itertools.cycle(keys))``."""

    def __init__(self, keys: list[str]) -> None:
        self._cycle = itertools.cycle(keys)

    def get_next_key(self) -> str:
        return next(self._cycle)


def per_call_ns(get_key: Callable[[], str], threads: int) -> float:
    """Best of ROUNDS: nanoseconds per call, CALLS calls in all, split over `threads` threads."""
    share = CALLS // threads

    def work() -> None:
        for _ in range(share):
            get_key()

    best = float("inf")
    for _ in range(ROUNDS):
        workers = [threading.Thread(target=work) for _ in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        best = min(best, time.perf_counter() - start)
    return best / (share * threads) * 1e9


def main() -> None:
    pool, rotator = KeyPool(KEYS), CycleRotator(KEYS)
    rows = []
    for threads in (1, THREADS):
        baseline = per_call_ns(rotator.get_next_key, threads)
        ours = per_call_ns(pool.acquire, threads)
        rows.append((threads, baseline, ours))
    print(f"acquire() cost, {len(KEYS)} keys, {CALLS:,} calls per measurement, best of {ROUNDS}")
    print(f"{'threads':>8} {'itertools.cycle':>16} {'KeyPool.acquire':>16} {'ratio':>7}")
    for threads, baseline, ours in rows:
        print(f"{threads:>8} {baseline:>13.0f} ns {ours:>13.0f} ns {ours / baseline:>6.1f}x")
    single, eight = rows[0][2], rows[1][2]
    print(f"KeyPool under {THREADS} threads vs 1 thread: {eight / single:.2f}x per call "
          "(the GIL serialises both; the lock adds contention)")


if __name__ == "__main__":
    main()
