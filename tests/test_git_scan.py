"""Tests for helpers.git_scan on real throwaway repositories: the index, the whole history, and a
fixed number of git processes however long the history is."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from helpers.git_scan import COMMIT_MESSAGE, GitScanError, read_blobs, scan_files, scan_history, scan_index
from helpers.git_scan import git as git_command
from helpers.key_formats import fake_key, fingerprint


def git(repo: Path, *args: str, input_text: str | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          input=input_text).stdout


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_key_committed_then_removed_is_found_with_the_commit_that_added_it(git_repo, real_looking) -> None:
    key = real_looking("openai-project", 1)
    commit(git_repo, {"app.py": "import os\n"}, "start")
    added = commit(git_repo, {"app.py": f'import os\nKEY = "{key}"\n'}, "add a key")
    commit(git_repo, {"app.py": 'import os\nKEY = os.environ["OPENAI_API_KEY"]\n'}, "from the environment")
    assert scan_files(git_repo, ["app.py"]) == []
    scan = scan_history(git_repo)
    [finding] = scan.findings
    assert (finding.path, finding.line, finding.fingerprint) == ("app.py", 2, fingerprint(key))
    assert finding.commit == added
    assert str(finding).endswith(f"first added in commit {added[:12]}") and key not in str(finding)
    assert (scan.commits, scan.blobs) == (3, 3)


def test_a_key_is_reported_once_with_its_first_commit_though_many_versions_hold_it(git_repo, real_looking):
    key = real_looking("anthropic", 2)
    first = commit(git_repo, {"config.py": f'KEY = "{key}"\n'}, "one")
    for n in range(4):
        commit(git_repo, {"config.py": f'# version {n}\nKEY = "{key}"\n'}, f"edit {n}")
    [finding] = scan_history(git_repo).findings
    assert (finding.commit, finding.line) == (first, 1)


def test_keys_on_other_branches_in_merges_and_in_file_names_are_found(git_repo, real_looking) -> None:
    on_branch, in_merge, in_name = real_looking("groq", 3), real_looking("xai", 3), real_looking("github", 3)
    commit(git_repo, {"README.md": "hello\n"}, "start")
    git(git_repo, "checkout", "-q", "-b", "experiment")
    commit(git_repo, {"notes.txt": f"token {on_branch}\n"}, "on a branch")
    commit(git_repo, {"notes.txt": "clean\n"}, "cleaned")
    git(git_repo, "checkout", "-q", "main")
    commit(git_repo, {f"cache/{in_name}.json": "{}\n"}, "cache")
    git(git_repo, "rm", "-q", "-r", "cache")
    git(git_repo, "commit", "-q", "-m", "drop cache")
    # An "evil merge": the merge commit itself adds a file that neither parent has.
    git(git_repo, "merge", "-q", "--no-commit", "experiment")
    (git_repo / "merged.txt").write_text(f"key {in_merge}\n")
    git(git_repo, "add", "merged.txt")
    git(git_repo, "commit", "-q", "-m", "merge")
    git(git_repo, "rm", "-q", "merged.txt")
    git(git_repo, "commit", "-q", "-m", "drop")
    found = {f.fingerprint: f for f in scan_history(git_repo).findings}
    assert set(found) == {fingerprint(on_branch), fingerprint(in_merge), fingerprint(in_name)}
    assert found[fingerprint(in_name)].line is None
    assert found[fingerprint(in_name)].path == f"cache/[key {fingerprint(in_name)}].json"
    assert found[fingerprint(in_merge)].path == "merged.txt"


def test_the_history_scan_starts_two_git_processes_however_many_commits(git_repo, real_looking, tmp_path,
                                                                        monkeypatch) -> None:
    for n in range(30):
        leak = f"K = '{real_looking('groq', n)}'\n" if n % 10 == 0 else ""
        commit(git_repo, {f"module_{n % 7}.py": f"VALUE = {n}\n{leak}"}, f"commit {n}")
    log = tmp_path / "git-calls.log"
    shim = tmp_path / "bin" / "git"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{shutil.which("git")}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    scan = scan_history(git_repo)
    assert len(scan.findings) == 3 and scan.commits == 30
    calls = log.read_text().splitlines()
    assert len(calls) == 2 and " log " in calls[0] and "cat-file --batch" in calls[1]


def test_the_index_scan_reads_staged_blobs_not_the_working_tree(git_repo, real_looking) -> None:
    staged_key, unstaged_key = real_looking("openai-project", 4), real_looking("anthropic", 4)
    commit(git_repo, {"app.py": "import os\n"}, "start")
    (git_repo / "app.py").write_text(f'KEY = "{staged_key}"\n')
    git(git_repo, "add", "app.py")
    (git_repo / "app.py").write_text(f'KEY = "{unstaged_key}"\n')  # edited again, not staged
    [finding] = scan_index(git_repo)
    assert (finding.path, finding.line, finding.fingerprint) == ("app.py", 1, fingerprint(staged_key))
    assert [f.fingerprint for f in scan_files(git_repo, ["app.py"])] == [fingerprint(unstaged_key)]


def test_the_index_scan_covers_a_first_commit_and_staged_file_names(git_repo, real_looking) -> None:
    key = real_looking("google", 5)
    (git_repo / "a.txt").write_text(f"{fake_key('google', 5)}\n")
    (git_repo / f"{key}.txt").write_text("nothing here\n")
    git(git_repo, "add", "-A")
    [finding] = scan_index(git_repo)
    assert finding.line is None and finding.fingerprint == fingerprint(key) and key not in str(finding)


def test_blobs_are_streamed_in_order_and_a_missing_object_is_skipped(git_repo) -> None:
    (git_repo / "big.bin").write_bytes(bytes(range(256)) * 40_000)  # 10 MB: more than any pipe buffer
    (git_repo / "small.txt").write_text("small\n")
    git(git_repo, "add", "-A")
    ids = [git(git_repo, "rev-parse", f":{name}").strip() for name in ("big.bin", "small.txt")]
    got = list(read_blobs(git_repo, [ids[0], "0" * 40, ids[1]]))
    assert [object_id for object_id, _data in got] == ids
    assert len(got[0][1]) == 10_240_000 and got[1][1] == b"small\n"


def test_a_folder_that_is_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GitScanError, match="not a git work tree"):
        scan_history(tmp_path)


def test_a_subfolder_of_a_repository_is_scanned_with_paths_relative_to_it(git_repo, real_looking) -> None:
    key = real_looking("groq", 6)
    (git_repo / "service").mkdir()
    (git_repo / "service" / "app.py").write_text(f'KEY = "{key}"\n')
    (git_repo / "other.py").write_text(f'KEY = "{key}"\n')
    git(git_repo, "add", "-A")
    found = scan_index(git_repo / "service")
    assert [(f.path, f.fingerprint) for f in found] == [("app.py", fingerprint(key))]


def test_keys_in_every_stash_entry_and_in_amended_away_commits_are_found(git_repo, real_looking) -> None:
    """Only the newest stash is a ref (refs/stash); older entries, and a commit amended or reset
    away, live in reflogs: still in this repository's objects until they expire."""
    in_old_stash, in_stashed_index, in_new_stash, amended = (
        real_looking(shape, 11) for shape in ("groq", "xai", "github", "google"))
    commit(git_repo, {"app.py": "x = 1\n"}, "start")
    (git_repo / "app.py").write_text(f"x = '{in_old_stash}'\n")
    git(git_repo, "stash", "-q")
    (git_repo / "app.py").write_text(f"x = '{in_stashed_index}'\n")
    git(git_repo, "add", "app.py")
    (git_repo / "app.py").write_text("x = 2\n")
    git(git_repo, "stash", "-q")
    (git_repo / "new.py").write_text(f"x = '{in_new_stash}'\n")
    git(git_repo, "stash", "-q", "-u")
    commit(git_repo, {"conf.py": f"k = '{amended}'\n"}, "oops")
    (git_repo / "conf.py").write_text("k = None\n")
    git(git_repo, "commit", "-q", "-a", "--amend", "-m", "clean")
    found = {f.fingerprint for f in scan_history(git_repo).findings}
    assert found == {fingerprint(key) for key in (in_old_stash, in_stashed_index, in_new_stash, amended)}


def test_a_failed_git_command_is_named_without_the_settings_before_it(git_repo) -> None:
    with pytest.raises(GitScanError, match=r"^`git frobnicate --now` failed in .*frobnicate"):
        git_command(git_repo, "-c", "core.excludesFile=/dev/null", "-c", "a.b=c", "frobnicate", "--now", "x")


def test_a_key_in_a_commit_message_is_found_with_its_commit_and_line(git_repo, real_looking) -> None:
    """A message is in every clone too: ``git commit -m "switch to sk-..."`` leaks the key."""
    key, on_branch = real_looking("openai-project", 12), real_looking("groq", 12)
    commit(git_repo, {"a.txt": "a\n"}, "start")
    first = commit(git_repo, {"b.txt": "b\n"}, f"use the new key\n\nOPENAI_API_KEY={key}\n")
    commit(git_repo, {"c.txt": "c\n"}, f"again {key}")
    git(git_repo, "checkout", "-q", "-b", "side")
    side = commit(git_repo, {"d.txt": "d\n"}, f"token {on_branch}")
    git(git_repo, "checkout", "-q", "main")
    git(git_repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    found = scan_history(git_repo).findings
    assert sorted((f.path, f.line, f.fingerprint, f.commit) for f in found) == sorted([
        (COMMIT_MESSAGE, 3, fingerprint(key), first), (COMMIT_MESSAGE, 1, fingerprint(on_branch), side)])
    assert COMMIT_MESSAGE == "(commit message)"
    assert all(key not in str(f) and on_branch not in str(f) for f in found)


def test_objects_hidden_by_git_replace_are_still_scanned(git_repo, real_looking) -> None:
    """``git replace`` changes what this clone shows, not what it holds or what a clone receives
    (refs/replace/* is not fetched by default): the scans read the objects themselves."""
    in_history, in_index = real_looking("xai", 13), real_looking("groq", 13)
    commit(git_repo, {"README.md": "shop\n"}, "start")
    leak = commit(git_repo, {"settings.py": f"K = '{in_history}'\n"}, "settings")
    git(git_repo, "checkout", "-q", "--detach", "HEAD~1")
    clean = commit(git_repo, {"settings.py": "K = None\n"}, "settings")
    git(git_repo, "checkout", "-q", "main")
    git(git_repo, "replace", leak, clean)
    git(git_repo, "reflog", "expire", "--expire=now", "--all")
    assert {f.fingerprint for f in scan_history(git_repo).findings} == {fingerprint(in_history)}
    git(git_repo, "reset", "-q", "--hard")  # the index as the replaced commit shows it: clean
    (git_repo / "app.py").write_text(f"K = '{in_index}'\n")
    git(git_repo, "add", "app.py")
    staged = git(git_repo, "rev-parse", ":app.py").strip()
    harmless = git(git_repo, "hash-object", "-w", "--stdin", input_text="K = None\n").strip()
    git(git_repo, "replace", "-f", staged, harmless)
    assert [f.fingerprint for f in scan_index(git_repo)] == [fingerprint(in_index)]


PERSONAL_SETTINGS = ["log.showRoot=false", "diff.relative=true", "log.diffMerges=first-parent"]


@pytest.mark.parametrize("setting", PERSONAL_SETTINGS)
def test_the_history_scan_ignores_personal_log_and_diff_settings(git_repo, real_looking, setting) -> None:
    """Settings in a ~/.gitconfig change what `git log --raw` shows: the first commit's files
    (log.showRoot), files outside the folder the scan starts in (diff.relative), merges."""
    in_root, in_merge = real_looking("groq", 14), real_looking("xai", 14)
    commit(git_repo, {"config.py": f"K = '{in_root}'\n", "service/app.py": "x = 1\n"}, "start")
    commit(git_repo, {"config.py": "K = None\n"}, "clean")
    git(git_repo, "checkout", "-q", "-b", "side")
    commit(git_repo, {"side.txt": "s\n"}, "side")
    git(git_repo, "checkout", "-q", "main")
    git(git_repo, "merge", "-q", "--no-commit", "side")
    (git_repo / "merged.txt").write_text(f"key {in_merge}\n")
    git(git_repo, "add", "merged.txt")
    git(git_repo, "commit", "-q", "-m", "merge")
    git(git_repo, "config", *setting.split("="))
    found = {f.fingerprint for f in scan_history(git_repo / "service").findings}
    assert found == {fingerprint(in_root), fingerprint(in_merge)}


def test_a_git_error_quoting_a_key_shows_its_fingerprint_instead(git_repo, real_looking) -> None:
    """git's own message can quote anything (here a broken branch named after a key)."""
    key = real_looking("groq", 15)
    commit(git_repo, {"a.txt": "a\n"}, "start")
    (git_repo / ".git" / "refs" / "heads" / key).write_text("1" * 40 + "\n")
    with pytest.raises(GitScanError) as caught:
        scan_history(git_repo)
    message = str(caught.value)
    assert key not in message and f"refs/heads/[key {fingerprint(key)}]" in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None
