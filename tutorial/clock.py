"""A clock that moves only when told to, so cooldowns, caches and budgets can be shown in a notebook
(and tested) without waiting."""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """Monotonic seconds that move only when a notebook or a test says so: pass it as ``clock=``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
