"""Wall time of the notebooks under nbval (strict mode), one after another vs in parallel.

    python -m benchmarks.notebooks [ROUNDS]

Each notebook runs in its own kernel either way. ``-n 2 --dist loadfile`` (pytest-xdist) hands
each notebook whole to one of two workers, so a notebook's cells still run in order in one kernel
(nbval needs that) while two notebooks run at once on a 2-core machine. `make test` runs the
whole suite that way. Prints the wall time of each way for every round, then min / median / max.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBVAL = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "notebooks"]
WAYS = {"one after another": [], "parallel (-n 2 --dist loadfile)": ["-n", "2", "--dist", "loadfile"]}


def wall_seconds(extra: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *NBVAL, *extra], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "TUTORIAL_PROVIDER": "mock"})
    return time.perf_counter() - started


def main(rounds: int = 5) -> None:
    if importlib.util.find_spec("rfc3987_syntax") is not None:
        print("note: rfc3987-syntax is installed: each Jupyter process pays ~2 s to import it (Makefile)")
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    for round_number in range(1, rounds + 1):
        for way, extra in WAYS.items():  # side by side in each round: the same machine load for both
            times[way].append(wall_seconds(extra))
        print(f"round {round_number}: " + ", ".join(f"{way} {t[-1]:.1f} s" for way, t in times.items()))
    for way, values in times.items():
        print(f"{way:32} min {min(values):5.1f} s  median {statistics.median(values):5.1f} s  "
              f"max {max(values):5.1f} s")
    serial, parallel = (statistics.median(values) for values in times.values())
    print(f"parallel / one after another: {parallel / serial:.2f}x (target: all notebooks in at most 10 s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
