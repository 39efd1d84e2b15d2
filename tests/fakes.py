"""Test doubles shared by several test modules: a clock that moves only when told to, and keys of
the real shape without the FAKE marker (made at run time, never stored in a file)."""

from __future__ import annotations

from helpers.key_formats import fake_key


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def real_looking(name: str, seed: int = 0) -> str:
    """A key of the real shape *without* the FAKE marker: what a scanner must report."""
    return fake_key(name, seed).replace("FAKE", "REAL").replace("fake", "real").replace("EXAMPLE", "SAMPLES")
