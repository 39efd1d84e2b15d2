"""The security checklist as a preflight you run before each commit: ``python -m helpers.checklist [ROOT]``.

Six checks on any git repository, each passed or failed with a one-line fix:

1. ``.env`` (and every ``.env.*`` file present) is ignored by git, as git itself answers;
2. no ``.env`` / ``.env.*`` file is tracked (``.env.example`` and other ``*.example`` are templates);
3. no key shape from `helpers.key_formats` in any tracked file, notebook outputs included.
   Keys carrying ``FAKE`` or ``EXAMPLE`` are allowed fakes (tutorials and tests need them);
4. ``.env.example`` exists and names every variable the code reads: `helpers.env_reads` finds
   the reads (``os.getenv``, ``os.environ``, pydantic-settings fields) in tracked ``.py`` files
   and notebook code cells outside tests. A variable listed commented out in the template
   (``# DEBUG=false``, the usual way to show an optional one) counts as listed;
5. the ``.env`` files in ROOT are readable by their owner only (POSIX permissions);
6. a secret-scanning pre-commit hook is configured (detect-secrets, gitleaks, trufflehog or ours).

Findings name ``file:line``, the provider and the key's fingerprint, never the key. It is fast
on large repositories: one ``git ls-files``, binary and large files skipped, and a cheap
substring test (`might_contain_key`) before any regular expression runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .env_files import EnvFileError, env_drift, is_git_ignored
from .env_reads import env_reads_in_file
from .key_formats import might_contain_key, reportable_keys

__all__ = [
    "ChecklistError", "ChecklistReport", "CheckResult", "main", "MAX_FILE_BYTES", "run_checklist",
    "scan_file", "SECRET_SCANNERS",
]

MAX_FILE_BYTES = 2_000_000
SECRET_SCANNERS = ("detect-secrets", "detect_secrets", "gitleaks", "trufflehog")
_COMMENTED_NAME = re.compile(r"^\s*#\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", re.MULTILINE)


class ChecklistError(Exception):
    """The checklist cannot run: `root` is not a git work tree, or git is missing."""


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist: what was checked, whether it passed, how to fix it, and where."""

    title: str
    passed: bool
    fix: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChecklistReport:
    """Every check's result, in the order of the module docstring."""

    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    def table(self) -> str:
        """The results as text: one ✅/❌ line per check, its fix and details when it failed."""
        lines = []
        for result in self.results:
            lines.append(f"{'✅' if result.passed else '❌'} {result.title}")
            if not result.passed:
                lines.append(f"     fix: {result.fix}")
            lines += [f"     - {detail}" for detail in result.details]
        failed = sum(not result.passed for result in self.results)
        lines.append(f"{len(self.results) - failed} passed, {failed} failed")
        return "\n".join(lines)


def scan_file(path: Path, display: str) -> list[str]:
    """Findings in one file as ``file:line: provider (format) fingerprint``; [] if binary or too big."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return []
        data = path.read_bytes()
    except OSError:
        return []
    if b"\0" in data[:8192]:
        return []
    text = data.decode("utf-8", errors="replace")
    if not might_contain_key(text):
        return []
    return [f"{display}:{text.count(chr(10), 0, m.start) + 1}: {m.format.provider} key "
            f"({m.format.name}), fingerprint {m.fingerprint}" for m in reportable_keys(text)]


def run_checklist(root: str | os.PathLike[str] = ".") -> ChecklistReport:
    """Run every check on the git repository at `root` and return the report (no printing)."""
    root = Path(root).resolve()
    tracked = _git(root, "ls-files", "-z")
    untracked_env = _git(root, "ls-files", "-z", "--others", "--exclude-standard", "--", ":(glob)**/.env*")
    return ChecklistReport((
        _check_env_ignored(root, untracked_env),
        _check_env_untracked(tracked),
        _check_no_keys(root, tracked),
        _check_example(root, tracked),
        _check_permissions(root),
        _check_hook(root),
    ))


def _check_env_ignored(root: Path, untracked_env: list[str]) -> CheckResult:
    exposed = [name for name in untracked_env if _is_env_file(name)]
    if ".env" not in exposed and not is_git_ignored(root / ".env"):
        exposed.insert(0, ".env")
    return CheckResult(".env files are ignored by git", not exposed,
                       "add `.env` and `.env.*` to .gitignore, with `!.env.example` after them",
                       tuple(f"{name} is not ignored" for name in exposed))


def _check_env_untracked(tracked: list[str]) -> CheckResult:
    committed = [name for name in tracked if _is_env_file(name)]
    return CheckResult("no .env file is tracked", not committed,
                       "`git rm --cached <file>`, then revoke and rotate every key it held",
                       tuple(f"{name} is tracked" for name in committed))


def _check_no_keys(root: Path, tracked: list[str]) -> CheckResult:
    findings = [finding for name in tracked for finding in scan_file(root / name, name)]
    return CheckResult("no API keys in tracked files (notebook outputs included)", not findings,
                       "revoke each key at its provider first, then remove it (and notebook outputs) "
                       "and purge it from history", tuple(findings))


def _check_example(root: Path, tracked: list[str]) -> CheckResult:
    title = ".env.example lists every variable the code reads"
    reads: dict[str, str] = {}
    for name in tracked:
        if _is_test(name) or not name.endswith((".py", ".ipynb")):
            continue
        for variable, where in env_reads_in_file(root / name, name):
            reads.setdefault(variable, where)
    example = root / ".env.example"
    if not example.is_file():
        details = tuple(f"{v} (read at {w})" for v, w in reads.items())
        return CheckResult(title, False, "create .env.example with a placeholder line per variable",
                           (".env.example is missing", *details))
    try:
        missing = env_drift(reads, example).missing_from_example
    except EnvFileError as err:
        return CheckResult(title, False, "fix .env.example so that python-dotenv can read it", (str(err),))
    # An optional variable may be listed commented out ("# DEBUG=false"): documented all the same.
    commented = set(_COMMENTED_NAME.findall(example.read_text(encoding="utf-8", errors="replace")))
    missing = tuple(name for name in missing if name not in commented)
    return CheckResult(title, not missing, "add each missing NAME= line to .env.example",
                       tuple(f"{v} is missing (read at {reads[v]})" for v in missing))


def _check_permissions(root: Path) -> CheckResult:
    title = ".env files are readable by their owner only"
    if os.name != "posix":
        return CheckResult(title, True, "", ("skipped: not a POSIX system",))
    open_files = [path.name for path in sorted(root.glob(".env*"))
                  if _is_env_file(path.name) and path.is_file() and path.stat().st_mode & 0o077]
    return CheckResult(title, not open_files, "`chmod 600 " + (" ".join(open_files) or ".env") + "`",
                       tuple(f"{name} is open to group or others" for name in open_files))


def _check_hook(root: Path) -> CheckResult:
    config = root / ".pre-commit-config.yaml"
    text = config.read_text(encoding="utf-8", errors="replace") if config.is_file() else ""
    found = any(scanner in text for scanner in SECRET_SCANNERS)
    detail = () if found else ((".pre-commit-config.yaml is missing",) if not text else
                               ("no detect-secrets, gitleaks or trufflehog hook in .pre-commit-config.yaml",))
    return CheckResult("a secret-scanning pre-commit hook is configured", found,
                       "add a detect-secrets (or gitleaks) hook to .pre-commit-config.yaml, "
                       "then `pre-commit install`", detail)


def _is_env_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (name == ".env" or name.startswith(".env.")) and not name.endswith(".example")


def _is_test(path: str) -> bool:
    parts = path.split("/")
    return "tests" in parts[:-1] or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


def _git(root: Path, *args: str) -> list[str]:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise ChecklistError("git is not installed or not on PATH: the checklist asks git") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip()
        raise ChecklistError(f"{root} is not a git work tree (git said: {reason})")
    return [name for name in done.stdout.decode("utf-8", errors="replace").split("\0") if name]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.checklist [ROOT]``: print the table; exit 1 on any failure, 2 if it cannot run."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or any(arg.startswith("-") for arg in args):
        sys.stderr.write("usage: python -m helpers.checklist [ROOT]   (ROOT: a git work tree, default .)\n")
        return 2
    try:
        report = run_checklist(args[0] if args else ".")
    except ChecklistError as err:
        sys.stderr.write(f"checklist: {err}\n")
        return 2
    sys.stdout.write(report.table() + "\n")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
