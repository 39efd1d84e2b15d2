"""How fast does ``python -m helpers.checklist --history`` read a long history?

``python -m benchmarks.history_scan``

A repository of a few thousand commits is generated in a temporary folder with ``git fast-import``
(seconds, where one ``git commit`` per commit would take minutes): a few hundred files, each commit
changing one to three of them, on a main branch and a side branch. Keys of the real shape (made
at run time, never stored) are committed in some commits and removed in the next one, as happens
when someone "fixes" a leak by deleting it.

Printed, from one run: the history's size, `helpers.git_scan.scan_history` over five runs (min /
median / max) in blobs per second and MB per second, its recall on the planted keys, and what git
alone takes to read every object (``git cat-file --batch-all-objects --batch``), the floor.

Options: ``--commits N`` (default 3000), ``--keys N`` (default 20).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.scan import PLANTED_SHAPES, ordinary_text, real_shaped_key
from helpers.git_scan import scan_history
from helpers.key_formats import fingerprint

FILES = 400


def fast_import_stream(commits: int, keys: int, rng: random.Random) -> tuple[bytes, list[str]]:
    """The ``git fast-import`` input for the whole history, and the planted keys."""
    paths = [f"src/pkg{n % 20}/{rng.choice(('py', 'md', 'json', 'log'))}_{n}" for n in range(FILES)]
    leak_commits = set(rng.sample(range(1, commits - 1), keys))
    planted: list[str] = []
    chunks: list[bytes] = []
    leaked_path = ""
    for number in range(commits):
        branch = "side" if number % 10 == 9 else "main"
        changes: dict[str, str] = {}
        for path in rng.sample(paths, rng.randint(1, 3)):
            kind = path.rsplit("/", 1)[1].split("_")[0]
            changes[path] = ordinary_text(kind, rng, rng.randrange(1_000, 8_000))
        if leaked_path:  # the "fix": the next commit rewrites the file without the key
            changes[leaked_path] = ordinary_text("py", rng, 2_000)
            leaked_path = ""
        if number in leak_commits:
            key = real_shaped_key(PLANTED_SHAPES[len(planted) % len(PLANTED_SHAPES)], rng)
            planted.append(key)
            leaked_path = rng.choice(paths)
            changes[leaked_path] = ordinary_text("py", rng, 2_000) + f'API_KEY = "{key}"\n'
        chunks.append(_commit(branch, number, changes))
    return b"".join(chunks), planted


def _commit(branch: str, number: int, changes: dict[str, str]) -> bytes:
    message = f"change {number}".encode()
    lines = [f"commit refs/heads/{branch}".encode(),
             f"committer Bench <bench@example.com> {1_700_000_000 + number * 60} +0000".encode(),
             b"data %d" % len(message), message]
    if number == 9:  # the side branch starts from main's history
        lines.append(b"from refs/heads/main")
    for path, text in changes.items():
        data = text.encode()
        lines += [f"M 100644 inline {path}".encode(), b"data %d" % len(data), data]
    return b"\n".join(lines) + b"\n\n"


def build(root: Path, commits: int, keys: int, rng: random.Random) -> list[str]:
    stream, planted = fast_import_stream(commits, keys, rng)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet"], input=stream, check=True)
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.history_scan",
                                     description="Time helpers.git_scan.scan_history on a generated history.")
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--keys", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-bench-") as folder:
        root = Path(folder)
        planted = build(root, args.commits, args.keys, random.Random(2026))
        times, scans = [], []
        for _ in range(5):
            start = time.perf_counter()
            scans.append(scan_history(root))
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(["git", "-C", str(root), "cat-file", "--batch-all-objects", "--batch"],
                       stdout=subprocess.DEVNULL, check=True)
        floor = time.perf_counter() - start
    scan = scans[-1]
    found = {finding.fingerprint for finding in scan.findings}
    recall = sum(fingerprint(key) in found for key in planted)
    median, megabytes = statistics.median(times), scan.bytes_read / 1e6
    print(f"history: {scan.commits:,} commits, {scan.blobs:,} distinct blobs, {megabytes:.1f} MB, "
          f"{len(planted)} keys committed then removed")
    print(f"scan_history: min {min(times):.2f} s, median {median:.2f} s, max {max(times):.2f} s "
          f"= {scan.blobs / median:,.0f} blobs/s, {megabytes / median:.1f} MB/s (median); "
          f"found {recall} of {len(planted)}")
    print(f"git alone reading every object (cat-file --batch-all-objects): {floor:.2f} s; "
          f"the scan takes {median / floor:.1f}x that")


if __name__ == "__main__":
    main()
