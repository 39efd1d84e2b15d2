"""Mutation testing, one helper module at a time: ``make mutation`` or ``python -m tools.mutation``.

mutmut 3 changes one thing in a function body (a constant, an operator, a condition) and runs the
tests; a test that fails "kills" the mutant, a mutant no test notices "survives" and shows a
behaviour the tests do not pin. mutmut reads one configuration per project (``[tool.mutmut]`` in
pyproject.toml) and runs the whole selection at once, so this driver copies the project to a
scratch folder per module, sets `only_mutate` to ``helpers/<module>.py`` and the test selection to
the module's test file there, runs ``mutmut run`` and reads its verdicts from
``mutants/helpers/<module>.py.meta``. The test file is ``tests/test_<module>.py`` unless
`TEST_FILES` names another (``aws_secret_store`` is tested in ``tests/test_secret_store.py``), or
the command line does: ``python -m tools.mutation aws_secret_store=tests/test_secret_store.py``.
The table it prints::

    module          generated    killed   timeout  survived  no tests     other     score
    key_formats           161       156         0         5         0         0     96.9%

score = (killed + timeout) / (generated - skipped). Mutants on lines marked ``# pragma: no mutate``
(equivalent mutants, each with a one-line reason) are never generated.

What mutmut 3.8.1 cannot reach (mutmut/mutation/file_mutation.py): module-level code (the
catalogue's patterns: tests written independently of them pin those) and decorated functions
(``@cache``, ``@property``): keep the logic of a cached function in a plain one it calls, and let
the tests clear the cache, or a mutant is never built (workers fork from a process whose caches
are already filled).

Usage: ``python -m tools.mutation [MODULE[=TEST_FILE]...] [--max-children N] [--keep]`` (default:
every module below that exists; ``--keep`` leaves the scratch folders for ``mutmut show``/``browse``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The helpers that guard a key (issue 18), each tested by tests/test_<module>.py unless TEST_FILES says.
MODULES = ("key_formats", "redaction", "message_redaction", "guard_streams", "notebook_guard", "settings",
           "secret_store", "aws_secret_store", "key_pool", "usage", "validation", "checklist",
           "notebook_keys")
TEST_FILES = {"aws_secret_store": "tests/test_secret_store.py"}
# What the tests read besides helpers/ and tests/: the template (.env.example), the benchmarks'
# stand-ins (benchmarks.secret_store.HangingSecretsManager). Copied to the scratch folder, and by
# mutmut (also_copy) into its mutants/ folder, where the tests run.
EXTRA = ("tutorial", "benchmarks", "conftest.py", ".env.example")
COPIED = ("helpers", "tests", "pyproject.toml", *EXTRA)
# mutmut's exit codes per mutant (mutmut/stats.py, version 3.8.1)
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          37: "killed"}  # 37: caught by the type checker


@dataclass(frozen=True)
class Score:
    module: str
    counts: Counter[str]

    @property
    def generated(self) -> int:
        return sum(self.counts.values())

    @property
    def score(self) -> float:
        judged = self.generated - self.counts["skipped"]
        return (self.counts["killed"] + self.counts["timeout"]) / judged if judged else 0.0

    def row(self) -> str:
        numbers = [self.generated, *(self.counts[column] for column in COLUMNS[2:-1])]
        return f"{self.module:<15}" + "".join(f"{n:>10}" for n in numbers) + f"{self.score:>10.1%}"


COLUMNS = ("module", "generated", "killed", "timeout", "survived", "no tests", "other", "score")
HEADER = f"{COLUMNS[0]:<15}" + "".join(f"{column:>10}" for column in COLUMNS[1:])


def test_file(module: str) -> str:
    """The test file that `module` is mutated against, relative to the project root."""
    return TEST_FILES.get(module, f"tests/test_{module}.py")


def scratch_copy(module: str, tests: str, folder: Path) -> None:
    """The project's code and tests in `folder`, with mutmut set to `module` and the test file `tests`."""
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            ignored = shutil.ignore_patterns("__pycache__", ".hypothesis")
            shutil.copytree(source, folder / name, ignore=ignored)
        elif source.exists():
            shutil.copy2(source, folder / name)
    pyproject = folder / "pyproject.toml"
    text = re.sub(r"(?m)^also_copy = .*\n", "", pyproject.read_text())  # replaced by the line below
    copied = ", ".join(json.dumps(name + "/" if (ROOT / name).is_dir() else name) for name in EXTRA)
    settings = (f'only_mutate = ["helpers/{module}.py"]\n'
                f"pytest_add_cli_args_test_selection = [{json.dumps(tests)}]\n"
                f"also_copy = [{copied}]\n")
    pyproject.write_text(re.sub(r"(?m)^\[tool\.mutmut\]\n", lambda m: m.group() + settings, text, count=1))


def run_mutmut(folder: Path, max_children: int, timeout: float) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout, check=False)


def verdicts(folder: Path, module: str) -> Counter[str]:
    meta = folder / "mutants" / "helpers" / f"{module}.py.meta"
    if not meta.exists():
        return Counter()
    codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
    return Counter(STATUS.get(code, "other") for code in codes.values())


def mutate(module: str, tests: str, max_children: int, timeout: float, keep: bool) -> Score:
    folder = Path(tempfile.mkdtemp(prefix=f"mutation-{module}-"))
    try:
        scratch_copy(module, tests, folder)
        done = run_mutmut(folder, max_children, timeout)
        counts = verdicts(folder, module)
        if not counts:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            print(f"{module}: mutmut produced no verdicts (exit {done.returncode}):\n{tail}", file=sys.stderr)
        elif keep:
            print(f"{module}: survivors in {folder} (cd there; python -m mutmut results)", file=sys.stderr)
        return Score(module, counts)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE[=TEST_FILE]",
                        help=f"default: {', '.join(MODULES)}; TEST_FILE defaults to tests/test_MODULE.py")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant runs (default 2)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per module (default 3600)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders")
    args = parser.parse_args(argv)
    chosen = dict(module.partition("=")[::2] for module in args.modules)
    unknown = sorted(set(chosen) - set(MODULES))
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    runs = {module: chosen.get(module) or test_file(module) for module in chosen or MODULES
            if (ROOT / "helpers" / f"{module}.py").exists()}
    missing = sorted(tests for tests in set(runs.values()) if not (ROOT / tests).is_file())
    if missing:
        parser.error(f"no such test file: {', '.join(missing)}")
    print(HEADER)
    scores = []
    for module, tests in runs.items():
        scores.append(mutate(module, tests, args.max_children, args.timeout, args.keep))
        print(scores[-1].row(), flush=True)
    return 0 if scores and all(s.generated for s in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
