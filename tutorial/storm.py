"""Notebook 03's 429 storm: the same burst of rate limits against the material's rotator and against
`helpers.key_pool`, on a fake clock, and the picture of it (one lane per key).

The story: four keys A-D, one request every half second for 30 seconds. The provider refuses key A
from second 5 to 15, key B from 8 to 18 and key C from 11 to 21, each time with ``Retry-After: 3``;
key D is never limited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai

from helpers.key_pool import KeyPool, NoHealthyKeyError, call_with_failover
from helpers.mock_provider import FakeProvider

from .clock import FakeClock

__all__ = ["OVER_LIMIT", "RETRY_AFTER", "TICKS", "StormRun", "draw_storm", "run_storm"]

OVER_LIMIT = {"A": (5.0, 15.0), "B": (8.0, 18.0), "C": (11.0, 21.0)}  # seconds the provider says 429
TICKS = [i * 0.5 for i in range(60)]
RETRY_AFTER = 3.0  # seconds, in every 429


class Rotator(Protocol):
    def get_next_key(self) -> str: ...


@dataclass
class StormRun:
    """What happened: each attempt (time, key letter, status), the pool's cooldowns, failed requests."""

    attempts: list[tuple[float, str, int]] = field(default_factory=list)
    cooldowns: list[tuple[str, float, float]] = field(default_factory=list)
    failed: int = 0


def run_storm(keys: Sequence[str], rotator: Callable[[Mapping[str, str]], Rotator] | None = None) -> StormRun:
    """Send one request per tick with four `keys` (A-D): through ``rotator(environ)`` (the material's
    class, built from ``OPENAI_API_KEY_1..4``) if given, else through a `KeyPool` and
    `call_with_failover`."""
    clock, letters = FakeClock(0.0), dict(zip(keys, "ABCD", strict=True))
    provider = FakeProvider({key: "ok" for key in keys}, retry_after=RETRY_AFTER)
    client = provider.client(keys[0])
    run, sent = StormRun(), []

    def send(key: str) -> Any:
        start, end = OVER_LIMIT.get(letters[key], (0.0, 0.0))
        provider.set(key, "rate_limited" if start <= clock.now < end else "ok")
        sent.append((clock.now, letters[key]))
        return client.with_options(api_key=key).models.list()

    pool = KeyPool({letter: key for key, letter in letters.items()}, clock=clock)
    material = rotator({f"OPENAI_API_KEY_{n}": key for n, key in enumerate(keys, 1)}) if rotator else None
    for tick in TICKS:
        clock.now = tick
        try:
            if material:
                send(material.get_next_key())
            else:
                call_with_failover(pool, send)
        except (openai.RateLimitError, NoHealthyKeyError):
            run.failed += 1
        if material is None:  # a key refused at this tick rests exactly RETRY_AFTER seconds from now
            run.cooldowns += [(s.label, tick, tick + s.usable_in) for s in pool.stats()
                              if s.usable_in == RETRY_AFTER]
    run.attempts = [(t, k, r.status) for (t, k), r in zip(sent, provider.requests, strict=True)]
    return run


def draw_storm(storms: Mapping[str, StormRun]) -> Any:
    """One panel per run, one lane per key: a dot for a request served, a cross for a 429, light
    grey while the provider limits the key, orange for the pool's cooldowns. Returns the figure."""
    import matplotlib.pyplot as plt  # imported here: only this function draws
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    lanes, cooling = {name: lane for lane, name in enumerate("DCBA")}, "#f5b971"
    marks = {200: {"marker": "o", "s": 18, "color": "tab:green"},  # served
             429: {"marker": "x", "s": 30, "color": "tab:red"}}  # refused
    fig, axes = plt.subplots(len(storms), 1, figsize=(9, 5.2), dpi=80, sharex=True)
    for ax, (title, run) in zip(axes, storms.items(), strict=True):
        for key, (start, end) in OVER_LIMIT.items():
            ax.broken_barh([(start, end - start)], (lanes[key] - 0.4, 0.8), color="0.88")
        for label, start, end in run.cooldowns:
            ax.broken_barh([(start, end - start)], (lanes[label] - 0.25, 0.5), color=cooling,
                           edgecolor="white")
        for status, style in marks.items():
            hits = [(t, lanes[k]) for t, k, got in run.attempts if got == status]
            ax.scatter([t for t, _ in hits], [lane for _, lane in hits], zorder=3, **style)
        ax.set_yticks(list(lanes.values()), [f"key {k}" for k in lanes])
        ax.set_title(f"{title}: {run.failed} of {len(TICKS)} requests failed", fontsize=11)
        ax.set_xlim(-0.5, 30)
    axes[-1].set_xlabel("seconds (fake clock)")
    fig.legend(handles=[
        Line2D([], [], marker="o", color="tab:green", linestyle="", label="request served"),
        Line2D([], [], marker="x", color="tab:red", linestyle="", label="429 from the provider"),
        Patch(color="0.88", label="provider limits the key"),
        Patch(color=cooling, label="key cooling in the pool (one bar per 429)"),
    ], loc="lower center", ncols=4, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
