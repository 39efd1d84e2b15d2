"""The security checklist as a preflight you run before each commit: ``python -m helpers.checklist``.

Three modes, each with its own exit status (0 passed, 1 something failed, 2 cannot run):

- ``python -m helpers.checklist [ROOT]``: the six checks below, on the working tree;
- ``--staged``: the same checks, but check 3 reads what the next commit records (the staged blobs
  and file names, from the index): the pre-commit hook (``.pre-commit-config.yaml``) runs this;
- ``--history``: keys in every blob reachable from every ref, and in every commit message, each
  reported once with the first commit that added it. A key deleted in a later commit is still in
  every clone. Reflogs count too: every stash, and a commit amended or reset away, stay in the
  repository until they expire.

The checks:

1. every env file present, in any folder (``.env``, ``.env.*``, ``*.env``, ``.envrc``), is ignored
   by the ``.gitignore`` rules every clone shares (a ``.gitignore`` git tracks). One ignored only
   by your own settings (``core.excludesFile``, ``.git/info/exclude``) or by a ``.gitignore`` that
   is not committed (it ignores itself, say) fails: a teammate's clone would commit it;
2. no env file is tracked. Templates are not env files: ``.env.example``, ``.env.sample``,
   ``.env.template``, ``.env.dist`` (and any env name ending so);
3. no key shape from `helpers.key_formats` in any tracked file, whatever its size or encoding,
   notebook outputs and file names included. Keys carrying ``FAKE`` or ``EXAMPLE`` are allowed.
   Binary files are skipped, and a submodule is a repository of its own: run the checklist in it;
4. the template (``.env.example``, or one of the names above) names every variable the code reads:
   `helpers.env_reads` finds the reads in tracked ``.py`` files and notebook code cells outside
   tests. A variable listed commented out (``# DEBUG=false``) counts as listed;
5. every env file present is readable by its owner only (POSIX permissions), in any folder;
6. ``.pre-commit-config.yaml`` configures a secret-scanning hook (detect-secrets, gitleaks,
   trufflehog or ours): a hook's ``id`` or ``entry``, read as YAML, not a word in a comment, and
   run on commit or push (not ``stages: [manual]``).

Findings name ``file:line``, the provider and the key's fingerprint, never the key, also when
the key is in a file name. Git reading and key scanning live in `helpers.git_scan`.

Needs: ``git_scan.py``, ``key_scan.py``, ``key_formats.py``, ``env_files.py``, ``env_reads.py``,
``hook_config.py``; python-dotenv (env_files) and PyYAML (hook_config); git on PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .env_reads import env_reads_in_file
from .git_scan import (
    COMMIT_MESSAGE,
    GitScanError,
    git,
    ignoring_rules,
    scan_files,
    scan_history,
    scan_index,
    split_z,
    tracked_files,
    untracked_files,
)
from .hook_config import HookConfigError, MissingYAMLError, secret_scanning_hooks
from .key_scan import safe_path

__all__ = [
    "ChecklistError", "ChecklistReport", "CheckResult", "main", "MissingDependencyError",
    "Mode", "run_checklist", "TEMPLATE_SUFFIXES",
]

Mode = Literal["worktree", "staged", "history"]
TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist")
_ENV_PATHSPECS = (":(glob)**/.env", ":(glob)**/.env.*", ":(glob)**/*.env", ":(glob)**/.envrc")
_COMMENTED_NAME = re.compile(r"^\s*#\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", re.MULTILINE)
_EXIT_STATUS = """exit status:
  0  every check passed (--history: no key in any commit of any ref)
  1  a check failed (--history: a key was found); the table says where and how to fix it
  2  the checklist cannot run: ROOT is not a git work tree, git is missing, or wrong arguments"""


class ChecklistError(Exception):
    """The checklist cannot run: `root` is not a git work tree, git or a library is missing."""


class MissingDependencyError(ChecklistError, ImportError):
    """A library the checklist needs is not installed; the message says what to install."""


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


def run_checklist(root: str | os.PathLike[str] = ".", mode: Mode = "worktree") -> ChecklistReport:
    """Run the checks of `mode` on the git repository at `root` and return the report (no printing)."""
    root = Path(root).resolve()
    problem = ""
    try:
        report = _run(root, mode)
    except GitScanError as err:
        problem = str(err)
    if problem:  # raised outside the except block: the git error is the whole story
        raise ChecklistError(problem)
    return report


def _run(root: Path, mode: Mode) -> ChecklistReport:
    if mode == "history":
        return ChecklistReport((_check_history(root),))
    tracked = tracked_files(root)
    untracked_env = _untracked_env_files(root)
    tracked_env = [name for name in tracked if _is_env_file(name)]
    return ChecklistReport((
        _check_env_ignored(root, untracked_env),
        _check_env_untracked(tracked_env),
        _check_no_keys(root, tracked, staged=mode == "staged"),
        _check_example(root, tracked),
        _check_permissions(root, [*tracked_env, *untracked_env]),
        _check_hook(root),
    ))


def _untracked_env_files(root: Path) -> list[str]:
    """Env files git does not track, ignored or not (a folder ignored as a whole is not entered)."""
    listed = [*untracked_files(root, _ENV_PATHSPECS, ignored=False),
              *untracked_files(root, _ENV_PATHSPECS, ignored=True)]
    return sorted({name for name in listed if _is_env_file(name)})


def _check_env_ignored(root: Path, untracked_env: list[str]) -> CheckResult:
    candidates = list(dict.fromkeys([".env", *untracked_env]))
    shared = ignoring_rules(root, candidates, personal=False)
    committed = _committed(root, {source for source in shared.values() if Path(source).name == ".gitignore"})
    exposed = [name for name in candidates if shared.get(name, "") not in committed]
    unshared = [name for name in exposed if Path(shared.get(name, "")).name != ".gitignore"]
    personal = ignoring_rules(root, unshared, personal=True) if unshared else {}
    details = tuple(_why_exposed(name, "" if name in unshared else shared[name], personal.get(name, ""))
                    for name in exposed)
    return CheckResult(".env files are ignored by git", not exposed,
                       "add `.env`, `.env.*`, `*.env` and `.envrc` to .gitignore (committed), "
                       "with `!.env.example` after them", details)


def _committed(root: Path, paths: set[str]) -> set[str]:
    """Those of `paths` that git tracks (paths as `ignoring_rules` names sources: from the top of
    the work tree, which `root` may be below)."""
    if not paths:
        return set()
    pathspecs = [f":(top,literal){path}" for path in sorted(paths)]
    return set(split_z(git(root, "ls-files", "-z", "--full-name", "--", *pathspecs)))


def _why_exposed(name: str, shared_source: str, personal_source: str) -> str:
    shown = safe_path(name)
    if shared_source:  # a .gitignore that is not committed
        return (f"{shown} is ignored only by {safe_path(shared_source)}, which is not committed: "
                f"`git add {_shell_word(shared_source)}`, or a teammate's clone would commit {shown}")
    if personal_source:
        return (f"{shown} is ignored only by {personal_source}, your own setting: "
                "a teammate's clone would commit it")
    return f"{shown} is not ignored"


def _check_env_untracked(tracked_env: list[str]) -> CheckResult:
    return CheckResult("no .env file is tracked", not tracked_env,
                       "`git rm --cached <file>`, then revoke and rotate every key it held",
                       tuple(f"{safe_path(name)} is tracked" for name in tracked_env))


def _check_no_keys(root: Path, tracked: list[str], *, staged: bool) -> CheckResult:
    findings = scan_index(root) if staged else scan_files(root, tracked)
    title = ("no API keys in what the next commit records (the index, notebook outputs included)" if staged
             else "no API keys in tracked files (notebook outputs included)")
    return CheckResult(title, not findings,
                       "revoke each key at its provider first, then remove it (and notebook outputs) "
                       "and purge it from history", tuple(str(finding) for finding in findings))


def _check_history(root: Path) -> CheckResult:
    scan = scan_history(root)
    read = f"read {scan.blobs:,} blobs ({_size(scan.bytes_read)}) of {scan.commits:,} commits"
    messages = " (and `--replace-message FILE` for a key in a commit message)" if any(
        finding.path == COMMIT_MESSAGE for finding in scan.findings) else ""
    return CheckResult("no API keys anywhere in the history (every blob of every ref)", not scan.findings,
                       "revoke each key at its provider first; then rewrite the history with "
                       f"`git filter-repo --replace-text FILE`{messages} (a line `<key>==>REMOVED` per key), "
                       "force-push, and have everyone clone again",
                       (*(str(finding) for finding in scan.findings), read))


def _size(count: int) -> str:
    if count >= 1e6:
        return f"{count / 1e6:,.1f} MB"
    return f"{count / 1e3:.1f} KB" if count >= 1e3 else f"{count} bytes"


def _check_example(root: Path, tracked: list[str]) -> CheckResult:
    try:  # python-dotenv is needed here only: without it the other checks could still import
        from .env_files import EnvFileError, env_drift
    except ImportError as err:
        raise MissingDependencyError(str(err)) from None
    title = ".env.example lists every variable the code reads"
    reads: dict[str, str] = {}
    for name in tracked:
        if _is_test(name) or not name.endswith((".py", ".ipynb")) or not _regular_file(root / name):
            continue
        for variable, where in env_reads_in_file(root / name, name):
            reads.setdefault(variable, safe_path(where))
    template = next((root / f".env{suffix}" for suffix in TEMPLATE_SUFFIXES
                     if (root / f".env{suffix}").is_file()), None)
    if template is None:
        details = tuple(f"{v} (read at {w})" for v, w in reads.items())
        return CheckResult(title, False, "create .env.example with a placeholder line per variable",
                           (".env.example is missing", *details))
    try:
        missing = env_drift(reads, template).missing_from_example
    except EnvFileError as err:
        return CheckResult(title, False, f"fix {template.name}: python-dotenv cannot read it", (str(err),))
    # An optional variable may be listed commented out ("# DEBUG=false"): documented all the same.
    # no mutate: env_drift has read the template as UTF-8 already, so codec and errors never matter here
    text = template.read_text(encoding="utf-8", errors="replace")  # pragma: no mutate
    commented = set(_COMMENTED_NAME.findall(text))
    missing = tuple(name for name in missing if name not in commented)
    return CheckResult(title, not missing, f"add each missing NAME= line to {template.name}",
                       tuple(f"{v} is missing (read at {reads[v]})" for v in missing))


def _check_permissions(root: Path, env_files: list[str]) -> CheckResult:
    title = ".env files are readable by their owner only"
    if os.name != "posix":
        return CheckResult(title, True, "", ("skipped: not a POSIX system",))
    open_files = [safe_path(name) for name in sorted(set(env_files))
                  if (root / name).is_file() and (root / name).stat().st_mode & 0o077]
    command = " ".join(_shell_word(name) for name in open_files) or ".env"
    return CheckResult(title, not open_files, f"`chmod 600 {command}`",
                       tuple(f"{name} is open to group or others" for name in open_files))


def _shell_word(path: str) -> str:
    """`path` as one shell word that no command takes for an option: quoted, ``./`` before a dash."""
    return shlex.quote(f"./{path}" if path.startswith("-") else path)


def _check_hook(root: Path) -> CheckResult:
    title = "a secret-scanning pre-commit hook is configured"
    fix = "add a detect-secrets (or gitleaks) hook to .pre-commit-config.yaml, then `pre-commit install`"
    try:
        found = secret_scanning_hooks(root / ".pre-commit-config.yaml")
    except MissingYAMLError as err:
        raise MissingDependencyError(str(err)) from None
    except HookConfigError as err:
        return CheckResult(title, False, fix if "missing" in str(err) else
                           "fix .pre-commit-config.yaml: pre-commit cannot read it", (str(err),))
    missing = ("no detect-secrets, gitleaks or trufflehog hook in .pre-commit-config.yaml "
               "runs on commit or push")
    return CheckResult(title, bool(found), fix, () if found else (missing,))


def _regular_file(path: Path) -> bool:
    """A file to read: not a symlink (to anything, outside the repository too), nor a FIFO or device."""
    return not path.is_symlink() and path.is_file()


def _is_env_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    env_like = name in (".env", ".envrc") or name.startswith(".env.") or name.endswith(".env")
    return env_like and not name.endswith(TEMPLATE_SUFFIXES)


def _is_test(path: str) -> bool:
    parts = path.split("/")
    return "tests" in parts[:-1] or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.checklist", epilog=_EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The security checklist: .env files ignored, untracked and private, no API key in "
                    "the repository, a complete .env.example, a secret-scanning pre-commit hook.")
    parser.add_argument("root", nargs="?", default=".", metavar="ROOT", help="a git work tree (default: .)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--staged", action="store_true",
                      help="check 3 reads what the next commit records (the index): for pre-commit")
    mode.add_argument("--history", action="store_true",
                      help="scan every blob of every commit of every ref, instead of the six checks")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.checklist [--staged | --history] [ROOT]``: print the table, return the exit
    status (wrong arguments exit with 2 through argparse)."""
    args = _parser().parse_args(argv)
    # no mutate: only "history" and "staged" are ever compared, any other name runs the six checks
    mode: Mode = "history" if args.history else "staged" if args.staged else "worktree"  # pragma: no mutate
    try:
        report = run_checklist(args.root, mode)
    except ChecklistError as err:
        sys.stderr.write(f"checklist: {err}\n")
        return 2
    sys.stdout.write(report.table() + "\n")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
