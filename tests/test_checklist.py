"""Tests for helpers.checklist: each rule failing and passing on throwaway git repositories."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import nbformat
import pytest

from helpers import checklist
from helpers.checklist import ChecklistReport, CheckResult, MissingDependencyError, _size, main, run_checklist
from helpers.git_scan import git_filter_repo
from helpers.key_formats import KEY_FORMATS, fake_key, fingerprint, reportable_keys

PROJECT = Path(__file__).resolve().parents[1]
POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="POSIX file permissions")
# tools/mutation.py runs these tests in a scratch copy of helpers/ and tests/ only: no .git, no config.
IN_THE_REPOSITORY = pytest.mark.skipif(not (PROJECT / ".git").exists(),
                                       reason="needs the project's git work tree, not a scratch copy")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, real_looking) -> Path:
    """A small repository that passes every check."""
    root = tmp_path / "app"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".gitignore").write_text(".env\n.env.*\n!.env.example\n")
    (root / ".env.example").write_text("OPENAI_API_KEY=your-openai-api-key-here\nDEFAULT_MODEL=gpt-4o-mini\n")
    (root / "app.py").write_text(
        'import os\nKEY = os.getenv("OPENAI_API_KEY")\nMODEL = os.environ["DEFAULT_MODEL"]\n')
    (root / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: local\n    hooks:\n      - id: detect-secrets\n")
    (root / ".env").write_text(f"OPENAI_API_KEY={real_looking('openai-project')}\n")
    (root / ".env").chmod(0o600)
    git(root, "add", ".")
    return root


def result(root: Path, words: str):
    [found] = [r for r in run_checklist(root).results if words in r.title]
    return found


def test_a_careful_repository_passes_every_check(repo: Path) -> None:
    report = run_checklist(repo)
    assert report.passed, report.table()
    assert main([str(repo)]) == 0


def test_env_not_ignored_fails(repo: Path) -> None:
    (repo / ".gitignore").write_text("__pycache__/\n")
    check = result(repo, "ignored")
    assert not check.passed and check.details == (".env is not ignored",)


def test_an_env_variant_not_ignored_fails(repo: Path) -> None:
    (repo / ".gitignore").write_text(".env\n")
    (repo / "config").mkdir()
    (repo / "config" / ".env.production").write_text("DEFAULT_MODEL=gpt-4o\n")
    check = result(repo, "ignored")
    assert not check.passed and check.details == ("config/.env.production is not ignored",)


def test_a_tracked_env_file_fails_even_when_ignored(repo: Path) -> None:
    git(repo, "add", "-f", ".env")
    check = result(repo, "no .env file")
    assert not check.passed and check.details == (".env is tracked",)
    assert not result(repo, "API keys").passed


def test_a_key_in_a_tracked_file_is_reported_by_line_provider_and_fingerprint(repo: Path, real_looking):
    key = real_looking("anthropic", 4)
    (repo / "client.py").write_text(f'import anthropic\n\nclient = anthropic.Anthropic(api_key="{key}")\n')
    git(repo, "add", "client.py")
    check = result(repo, "API keys")
    assert not check.passed
    assert check.details == (f"client.py:3: Anthropic key (anthropic), fingerprint {fingerprint(key)}",)


def test_a_key_in_a_notebook_output_is_found_even_after_an_escaped_newline(repo: Path, real_looking) -> None:
    key = real_looking("openai-project", 5)
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(settings)")
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": f"Settings(\n{key})"})]
    notebook.cells.append(cell)
    nbformat.write(notebook, repo / "demo.ipynb")
    git(repo, "add", "demo.ipynb")
    [detail] = result(repo, "API keys").details
    line = next(n for n, text in enumerate((repo / "demo.ipynb").read_text().splitlines(), 1) if key in text)
    assert detail.startswith(f"demo.ipynb:{line}: OpenAI key (openai-project)")


def test_keys_marked_as_fakes_and_placeholders_are_allowed(repo: Path) -> None:
    (repo / "docs.md").write_text(
        f"key = {fake_key('openai-project', 1)}\nAuthorization: Bearer YOUR_TOKEN_GOES_HERE\n"
        "https://api.example.com/v1?key={api_key}\n" + fake_key("aws-access-key-id", 2) + "\n")
    git(repo, "add", "docs.md")
    assert result(repo, "API keys").passed


def test_binary_files_are_skipped(repo: Path, real_looking) -> None:
    (repo / "blob.bin").write_bytes(b"\0\1\2" + real_looking("groq", 1).encode())
    git(repo, "add", "blob.bin")
    assert result(repo, "API keys").passed


def test_a_missing_template_fails(repo: Path) -> None:
    git(repo, "rm", "-q", "--cached", ".env.example")
    (repo / ".env.example").unlink()
    check = result(repo, ".env.example")
    assert not check.passed and check.details[0] == ".env.example is missing"


def test_a_variable_missing_from_the_template_is_named_with_where_it_is_read(repo: Path) -> None:
    (repo / "worker.py").write_text('import os\n\n\nTIMEOUT = float(os.environ.get("LLM_TIMEOUT", "30"))\n')
    git(repo, "add", "worker.py")
    check = result(repo, ".env.example")
    assert not check.passed and check.details == ("LLM_TIMEOUT is missing (read at worker.py:4)",)


def test_a_variable_listed_commented_out_counts_as_documented(repo: Path) -> None:
    (repo / "worker.py").write_text('import os\nDEBUG = os.getenv("DEBUG") == "1"\n')
    git(repo, "add", "worker.py")
    assert not result(repo, ".env.example").passed
    with (repo / ".env.example").open("a") as template:
        template.write("# Optional: print debug output\n# DEBUG=1\n")
    assert result(repo, ".env.example").passed


def test_a_template_python_dotenv_cannot_read_fails_without_showing_it(repo: Path) -> None:
    (repo / ".env.example").write_text("OPENAI_API_KEY=your-openai-api-key-here\nDEFAULT MODEL gpt\n")
    check = result(repo, ".env.example")
    assert not check.passed and "line 2" in check.details[0] and "gpt" not in check.details[0]


def test_reads_in_notebook_code_cells_count_and_tests_do_not(repo: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell('Markdown: `os.getenv("PROSE_ONLY")`'),
                      nbformat.v4.new_code_cell('%load_ext something\nimport os\nos.getenv("NB_VAR")')]
    nbformat.write(notebook, repo / "demo.ipynb")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_app.py").write_text('import os\nos.getenv("ONLY_IN_TESTS")\n')
    git(repo, "add", ".")
    assert result(repo, ".env.example").details == ("NB_VAR is missing (read at demo.ipynb cell 2 line 3)",)


@POSIX_ONLY
def test_an_env_file_open_to_others_fails(repo: Path) -> None:
    (repo / ".env").chmod(0o644)
    check = result(repo, "owner only")
    assert not check.passed and check.fix == "`chmod 600 .env`"


def test_no_secret_scanning_hook_fails_and_gitleaks_counts(repo: Path) -> None:
    (repo / ".pre-commit-config.yaml").write_text("repos:\n  - repo: local\n    hooks:\n      - id: ruff\n")
    assert not result(repo, "pre-commit").passed
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: https://github.com/gitleaks/gitleaks\n  rev: v8.24.0\n  hooks:\n  - id: gitleaks\n")
    assert result(repo, "pre-commit").passed


def test_the_cli_fails_on_every_broken_rule_and_never_shows_the_key(repo: Path, real_looking) -> None:
    key = real_looking("openai-project", 9)
    (repo / ".gitignore").write_text("")
    (repo / ".env").write_text(f"OPENAI_API_KEY={key}\n")
    (repo / ".env").chmod(0o644)
    (repo / ".pre-commit-config.yaml").unlink()
    (repo / "leak.py").write_text(f'import os\nKEY = "{key}"\nos.getenv("UNDOCUMENTED")\n')
    git(repo, "add", ".")
    done = subprocess.run([sys.executable, "-m", "helpers.checklist", str(repo)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stdout.count("❌") == 6 and "0 passed, 6 failed" in done.stdout
    assert f"leak.py:2: OpenAI key (openai-project), fingerprint {fingerprint(key)}" in done.stdout
    assert key not in done.stdout + done.stderr
    assert not any(part in done.stdout for part in (key[8:30], key[-20:]))


def test_the_cli_explains_a_folder_that_is_not_a_repository(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path)]) == 2
    assert "not a git work tree" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", KEY_FORMATS, ids=lambda f: f.name)
def test_every_catalogued_shape_is_reportable_unless_marked_fake(fmt, real_looking) -> None:
    assert reportable_keys(f"value: {fmt.fake(3)}\n") == []
    real = real_looking(fmt.name, 3)
    [found] = reportable_keys(f"value: {real}\n")
    assert found.secret in real and len(found.secret) >= 16


@IN_THE_REPOSITORY
def test_this_project_passes_its_own_checklist() -> None:
    report = run_checklist(PROJECT)
    # .env permissions depend on the machine running the tests, not on the repository.
    failed = [r for r in report.results if not r.passed and "owner only" not in r.title]
    assert failed == [], report.table()



# -- what git keeps: the history, the index, and files the first version skipped ------------------

def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def check_of(report, words: str):
    [found] = [r for r in report.results if words in r.title]
    return found


def test_history_finds_a_key_removed_in_a_later_commit(repo: Path, real_looking, capsys) -> None:
    key = real_looking("openai-project", 11)
    (repo / "settings.py").write_text(f'OPENAI_API_KEY = "{key}"\n')
    added = commit_all(repo, "settings")
    (repo / "settings.py").write_text('import os\nOPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n')
    commit_all(repo, "read the key from the environment")
    assert main([str(repo)]) == 0  # the working tree is clean...
    assert main(["--history", str(repo)]) == 1  # ...but every clone still holds the key
    out = capsys.readouterr().out
    assert (f"settings.py:1: OpenAI key (openai-project), fingerprint {fingerprint(key)}, "
            f"first added in commit {added[:12]}") in out
    assert key not in out and "0 passed, 1 failed" in out


def test_staged_mode_checks_what_the_commit_records_not_the_working_tree(repo: Path, real_looking) -> None:
    key = real_looking("anthropic", 12)
    (repo / "client.py").write_text(f'KEY = "{key}"\n')
    git(repo, "add", "client.py")
    (repo / "client.py").write_text('import os\nKEY = os.environ["OPENAI_API_KEY"]\n')  # fixed, not staged
    assert result(repo, "API keys").passed
    staged = check_of(run_checklist(repo, "staged"), "API keys")
    assert staged.details == (f"client.py:1: Anthropic key (anthropic), fingerprint {fingerprint(key)}",)
    assert main(["--staged", str(repo)]) == 1 and main([str(repo)]) == 0
    git(repo, "add", "client.py")  # the fix staged: the commit records no key
    assert main(["--staged", str(repo)]) == 0


def test_a_key_in_a_notebook_larger_than_2_mb_is_found(repo: Path, real_looking) -> None:
    key = real_looking("openai-project", 13)
    notebook = nbformat.v4.new_notebook()
    plot = nbformat.v4.new_code_cell("plot()")
    image = "iVBORw0KGgo" + "A" * 3_000_000  # a few plots' worth of base64 PNG
    plot.outputs = [nbformat.v4.new_output("display_data", data={"image/png": image})]
    leak = nbformat.v4.new_code_cell("print(key)")
    leak.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{key}\n")]
    notebook.cells = [plot, leak]
    nbformat.write(notebook, repo / "report.ipynb")
    git(repo, "add", "report.ipynb")
    assert (repo / "report.ipynb").stat().st_size > 3_000_000
    [detail] = result(repo, "API keys").details
    assert detail.startswith("report.ipynb:") and fingerprint(key) in detail


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le"], ids=["with a byte-order mark", "without"])
def test_a_key_in_a_utf16_text_file_is_found(repo: Path, real_looking, codec: str) -> None:
    key = real_looking("aws-access-key-id", 14)
    (repo / "deploy.ps1").write_bytes(f"# Deploy\r\n$env:AWS_ACCESS_KEY_ID = '{key}'\r\n".encode(codec))
    git(repo, "add", "deploy.ps1")
    assert result(repo, "API keys").details == (f"deploy.ps1:2: AWS key (aws-access-key-id), "
                                                f"fingerprint {fingerprint(key)}",)


def test_a_key_in_a_file_name_is_reported_by_fingerprint_never_shown(repo: Path, real_looking) -> None:
    key = real_looking("openai-project", 15)
    (repo / "cache").mkdir()
    (repo / "cache" / f"{key}.json").write_text("{}\n")
    git(repo, "add", "cache")
    for mode in ("worktree", "staged"):
        details = check_of(run_checklist(repo, mode), "API keys").details
        assert details == (f"cache/[key {fingerprint(key)}].json (in the file name): OpenAI key "
                           f"(openai-project), fingerprint {fingerprint(key)}",)
    commit_all(repo, "cache")
    done = subprocess.run([sys.executable, "-m", "helpers.checklist", "--history", str(repo)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and fingerprint(key) in done.stdout and key not in done.stdout + done.stderr


def test_a_percent_encoded_token_in_a_url_is_found(repo: Path, real_looking) -> None:
    token = real_looking("github", 16)
    (repo / "fetch.sh").write_text(
        f"curl 'https://api.example.com/v1/data?access_token={token[:12]}%2F{token[12:]}&page=2'\n")
    git(repo, "add", "fetch.sh")
    assert not result(repo, "API keys").passed


@pytest.mark.parametrize("name", [".envrc", "config.env", "secrets.env", "deploy/.envrc"])
def test_envrc_and_dot_env_suffixed_files_count_as_env_files(repo: Path, real_looking, name: str) -> None:
    (repo / name).parent.mkdir(exist_ok=True)
    (repo / name).write_text(f"export OPENAI_API_KEY={real_looking('openai-project', 17)}\n")
    (repo / name).chmod(0o600)
    assert result(repo, "ignored").details == (f"{name} is not ignored",)
    git(repo, "add", name)
    assert result(repo, "no .env file").details == (f"{name} is tracked",)


def test_env_ignored_only_by_a_personal_excludes_file_fails(repo: Path, tmp_path: Path, monkeypatch) -> None:
    personal = tmp_path / "my-global-gitignore"
    personal.write_text(".env\n")
    monkeypatch.setenv("GIT_CONFIG_VALUE_3", str(personal))  # core.excludesFile (tests/conftest.py)
    (repo / ".gitignore").write_text("__pycache__/\n")
    # git itself, with the author's settings, says .env is ignored: the first checklist passed here
    assert subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", ".env"], check=False).returncode == 0
    check = result(repo, "ignored")
    assert not check.passed
    assert check.details == (f".env is ignored only by {personal}, your own setting: "
                             "a teammate's clone would commit it",)


def test_env_ignored_only_by_info_exclude_fails(repo: Path) -> None:
    (repo / ".gitignore").write_text("__pycache__/\n")
    (repo / ".git" / "info" / "exclude").write_text(".env\n")
    assert "a teammate's clone would commit it" in result(repo, "ignored").details[0]
    (repo / ".gitignore").write_text(".env\n")
    assert result(repo, "ignored").passed


@POSIX_ONLY
def test_a_world_readable_env_file_in_a_subfolder_fails(repo: Path) -> None:
    (repo / "services" / "api").mkdir(parents=True)
    (repo / "services" / "api" / ".env").write_text("DEFAULT_MODEL=gpt-4o\n")
    (repo / "services" / "api" / ".env").chmod(0o644)
    check = result(repo, "owner only")
    assert check.details == ("services/api/.env is open to group or others",)
    assert check.fix == "`chmod 600 services/api/.env`"


def test_a_scanner_named_only_in_a_yaml_comment_does_not_count(repo: Path) -> None:
    (repo / ".pre-commit-config.yaml").write_text(
        "# TODO: add detect-secrets here\nrepos:\n  - repo: local\n    hooks:\n      - id: ruff\n"
        "        entry: ruff check  # gitleaks later\n")
    assert not result(repo, "pre-commit").passed
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: local\n    hooks:\n      - id: secrets\n"
        "        entry: python -m helpers.detect_secrets_plugin\n")
    assert result(repo, "pre-commit").passed


def test_a_pre_commit_config_that_is_not_yaml_fails_without_quoting_it(repo: Path, real_looking) -> None:
    key = real_looking("groq", 18)
    (repo / ".pre-commit-config.yaml").write_text(f"repos:\n  - repo: local\n    hooks: [{key}\n")
    check = result(repo, "pre-commit")
    assert not check.passed and "not valid YAML (line" in check.details[0] and key not in check.details[0]
    assert check.passed is False and check.fix == "fix .pre-commit-config.yaml: pre-commit cannot read it"


@pytest.mark.parametrize("template", [".env.sample", ".env.template", ".env.dist"])
def test_other_template_names_are_templates_like_env_example(repo: Path, template: str) -> None:
    git(repo, "mv", ".env.example", template)
    (repo / template).chmod(0o644)
    report = run_checklist(repo)
    assert report.passed, report.table()
    (repo / "worker.py").write_text('import os\nos.getenv("LLM_TIMEOUT")\n')
    git(repo, "add", "worker.py")
    check = result(repo, ".env.example")
    assert check.details == ("LLM_TIMEOUT is missing (read at worker.py:2)",) and template in check.fix


@pytest.mark.parametrize("name", ["swagger.json", "package-lock.json", "docs/swagger/api.yaml"])
def test_staged_mode_blocks_a_key_whatever_the_file_is_called(repo: Path, real_looking, name: str) -> None:
    key = real_looking("openai-project", 19)
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(f'{{"servers": [{{"url": "https://api.example.com"}}], "token": "{key}"}}\n')
    git(repo, "add", name)
    assert main(["--staged", str(repo)]) == 1


def test_the_leak_drill_history_passes_only_after_git_filter_repo(git_repo: Path, real_looking, tmp_path):
    """Notebook 06's drill: commit a key, "fix" it, rewrite the history with git-filter-repo."""
    key = real_looking("openai-project", 20)
    (git_repo / "settings.py").write_text(f'OPENAI_API_KEY = "{key}"\n')
    commit_all(git_repo, "settings")
    (git_repo / "settings.py").write_text('import os\nOPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n')
    commit_all(git_repo, "read the key from the environment")
    assert result(git_repo, "API keys").passed
    assert main(["--history", str(git_repo)]) == 1
    replacements = tmp_path / "replacements.txt"  # outside the repository, deleted after use
    replacements.write_text(f"{key}==>REMOVED\n")
    subprocess.run([str(git_filter_repo()), "--replace-text", str(replacements), "--force"], cwd=git_repo,
                   check=True, capture_output=True)
    replacements.unlink()
    assert main(["--history", str(git_repo)]) == 0
    log = subprocess.run(["git", "-C", str(git_repo), "log", "--all", "-p"], capture_output=True, text=True,
                         check=True).stdout
    assert "REMOVED" in log and key not in log


def test_git_filter_repo_is_the_one_installed_next_to_this_python() -> None:
    assert git_filter_repo().parent == Path(sysconfig.get_path("scripts"))


def test_each_mode_documents_and_returns_its_exit_status(repo: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as help_exit:
        main(["--help"])
    text = capsys.readouterr().out
    assert help_exit.value.code == 0 and "--staged" in text and "--history" in text
    assert all(f"  {status}  " in text for status in (0, 1, 2))
    with pytest.raises(SystemExit) as both:
        main(["--staged", "--history", str(repo)])
    assert both.value.code == 2
    for flags in ([], ["--staged"], ["--history"]):
        assert main([*flags, str(tmp_path)]) == 2
    assert main(["--history", str(repo)]) == 0  # no commit yet: nothing in the history
    assert main(["--staged", str(repo)]) == 0


@IN_THE_REPOSITORY
def test_the_project_pre_commit_hook_runs_the_staged_checklist() -> None:
    import yaml

    config = yaml.safe_load((PROJECT / ".pre-commit-config.yaml").read_text())
    entries = [hook.get("entry", "") for repo in config["repos"] for hook in repo["hooks"]]
    assert "python -m helpers.checklist --staged" in entries


@pytest.mark.parametrize("how", [["commit", "-q", "-m", "x"], ["commit", "-q", "-a", "-m", "x"],
                                 ["commit", "-q", "-m", "x", "--", "client.py"]],
                         ids=["git commit", "git commit -a", "git commit PATH"])
def test_as_a_git_hook_staged_mode_stops_the_commit_that_would_record_a_key(repo: Path, real_looking, how):
    """Inside `git commit`, git points GIT_INDEX_FILE at the index being committed (a temporary one
    for `-a` and for PATH): what the hook reads is what the commit records."""
    (repo / "client.py").write_text('import os\nKEY = os.environ["OPENAI_API_KEY"]\n')
    commit_all(repo, "start")
    key = real_looking("anthropic", 21)
    (repo / "client.py").write_text(f'KEY = "{key}"\n')
    if how == ["commit", "-q", "-m", "x"]:
        git(repo, "add", "client.py")  # the others take it from the working tree themselves
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m helpers.checklist --staged\n')
    hook.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(["git", "-C", str(repo), *how], capture_output=True, text=True, env=env,
                          check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"client.py:1: Anthropic key (anthropic), fingerprint {fingerprint(key)}" in done.stderr  # git
    assert key not in done.stdout + done.stderr  # sends a hook's output to stderr
    assert "5 passed, 1 failed" in done.stderr


# -- what the report says: titles, fixes, the table and the command line --------------------------

FIXES = {  # each check's fix, as a learner reads it under the ❌
    "ignored": "add `.env`, `.env.*`, `*.env` and `.envrc` to .gitignore (committed), "
               "with `!.env.example` after them",
    "no .env file": "`git rm --cached <file>`, then revoke and rotate every key it held",
    "API keys": "revoke each key at its provider first, then remove it (and notebook outputs) "
                "and purge it from history",
    ".env.example": "add each missing NAME= line to .env.example",
    "owner only": "`chmod 600 .env`",
    "pre-commit": "add a detect-secrets (or gitleaks) hook to .pre-commit-config.yaml, then "
                  "`pre-commit install`",
}
TITLES = [".env files are ignored by git", "no .env file is tracked",
          "no API keys in tracked files (notebook outputs included)",
          ".env.example lists every variable the code reads", ".env files are readable by their owner only",
          "a secret-scanning pre-commit hook is configured"]


def test_the_table_shows_a_fix_only_under_a_failed_check_then_the_details_and_a_count() -> None:
    report = ChecklistReport((CheckResult("first", True, "never shown"),
                              CheckResult("second", False, "do this", ("one", "two")),
                              CheckResult("third", True, "never shown either", ("a note",))))
    assert report.table() == ("✅ first\n❌ second\n     fix: do this\n     - one\n     - two\n"
                              "✅ third\n     - a note\n2 passed, 1 failed")
    assert not report.passed and ChecklistReport(report.results[::2]).passed


@POSIX_ONLY
def test_every_failed_check_names_its_title_and_its_fix(repo: Path, real_looking) -> None:
    (repo / ".gitignore").write_text("")
    (repo / ".env").chmod(0o644)
    (repo / ".pre-commit-config.yaml").unlink()
    (repo / "leak.py").write_text(f'import os\nKEY = "{real_looking("openai-project", 22)}"\n'
                                  'os.getenv("UNDOCUMENTED")\n')
    git(repo, "add", ".")
    report = run_checklist(repo)
    assert [r.title for r in report.results] == TITLES and not any(r.passed for r in report.results)
    for words, fix in FIXES.items():
        assert result(repo, words).fix == fix, words
    assert result(repo, "pre-commit").details == (".pre-commit-config.yaml is missing",)


def test_the_cli_prints_the_table_once_with_a_final_line_end(repo: Path, capsys) -> None:
    assert main([str(repo)]) == 0
    assert capsys.readouterr().out == run_checklist(repo).table() + "\n"


def test_the_cli_checks_the_current_folder_by_default(repo: Path, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    assert main([]) == 0 and "6 passed, 0 failed" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    assert main([]) == 2 and "not a git work tree" in capsys.readouterr().err


def test_the_help_names_the_command_its_argument_and_each_mode(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in ("usage: python -m helpers.checklist [-h] [--staged | --history] [ROOT]",
                   "The security checklist: .env files ignored, untracked and private, no API key in the "
                   "repository, a complete .env.example, a secret-scanning pre-commit hook.",
                   "ROOT a git work tree (default: .)",
                   "--staged check 3 reads what the next commit records (the index): for pre-commit",
                   "--history scan every blob of every commit of every ref, instead of the six checks"):
        assert phrase in text, phrase


@pytest.mark.parametrize(("count", "shown"), [
    (0, "0 bytes"), (999, "999 bytes"), (1000, "1.0 KB"), (1999, "2.0 KB"), (999_999, "1000.0 KB"),
    (1_000_000, "1.0 MB"), (12_345_678, "12.3 MB"), (1_234_567_890, "1,234.6 MB"), (10**12, "1,000,000.0 MB"),
])
def test_the_history_size_is_shown_in_bytes_kb_or_mb(count: int, shown: str) -> None:
    assert _size(count) == shown


def test_history_says_what_it_read_and_how_to_purge_a_key(git_repo: Path, real_looking) -> None:
    (git_repo / "notes.txt").write_text("hello\n")
    commit_all(git_repo, "first")
    (git_repo / "notes.txt").write_text("hello world\n")
    commit_all(git_repo, "second")
    [clean] = run_checklist(git_repo, "history").results
    assert clean.title == "no API keys anywhere in the history (every blob of every ref)"
    assert clean.passed and clean.details == ("read 2 blobs (18 bytes) of 2 commits",)
    (git_repo / "notes.txt").write_text(f"{real_looking('groq', 23)}\n")
    commit_all(git_repo, "third")
    [leaked] = run_checklist(git_repo, "history").results
    assert not leaked.passed and leaked.details[-1].endswith(" of 3 commits")
    assert leaked.fix == ("revoke each key at its provider first; then rewrite the history with "
                          "`git filter-repo --replace-text FILE` (a line `<key>==>REMOVED` per key), "
                          "force-push, and have everyone clone again")


def test_staged_mode_says_it_read_the_index(repo: Path) -> None:
    titles = [r.title for r in run_checklist(repo, "staged").results]
    assert titles == [*TITLES[:2], "no API keys in what the next commit records (the index, notebook outputs "
                                   "included)", *TITLES[3:]]


def test_a_personal_excludes_file_called_gitignore_is_still_personal(repo: Path, tmp_path: Path, monkeypatch):
    """Many people name their global excludes file ``~/.gitignore``: its name does not make it shared."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitignore").write_text(".env\n")
    monkeypatch.setenv("GIT_CONFIG_VALUE_3", str(home / ".gitignore"))  # core.excludesFile (conftest.py)
    (repo / ".gitignore").write_text("__pycache__/\n")
    check = result(repo, "ignored")
    assert not check.passed
    assert check.details == (f".env is ignored only by {home / '.gitignore'}, your own setting: "
                             "a teammate's clone would commit it",)


def test_a_missing_or_unreadable_template_fails_with_a_fix_for_each(repo: Path) -> None:
    (repo / ".env.example").write_text("OPENAI_API_KEY=your-openai-api-key-here\nDEFAULT MODEL gpt\n")
    unreadable = result(repo, ".env.example")
    assert unreadable.passed is False and unreadable.fix == "fix .env.example: python-dotenv cannot read it"
    (repo / ".env.example").unlink()
    missing = result(repo, ".env.example")
    assert missing.passed is False
    assert missing.fix == "create .env.example with a placeholder line per variable"
    assert missing.details == (".env.example is missing", "OPENAI_API_KEY (read at app.py:2)",
                               "DEFAULT_MODEL (read at app.py:3)")


def test_without_posix_permissions_the_permission_check_is_skipped_not_failed(repo: Path, monkeypatch):
    (repo / ".env").chmod(0o644)
    with monkeypatch.context() as patched:  # os.name for the one call: pathlib reads it too
        patched.setattr(checklist.os, "name", "nt")
        check = checklist._check_permissions(repo, [".env"])
    assert check == CheckResult(".env files are readable by their owner only", True, "",
                                ("skipped: not a POSIX system",))


def test_without_pyyaml_the_checklist_cannot_run_and_says_what_to_install(repo: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` raises ImportError, as when not installed
    with pytest.raises(MissingDependencyError, match=r"`pip install pyyaml`") as raised:
        run_checklist(repo)
    assert isinstance(raised.value, ImportError) and raised.value.__cause__ is None


def test_a_config_with_no_scanner_says_which_scanners_count(repo: Path) -> None:
    (repo / ".pre-commit-config.yaml").write_text("repos:\n  - repo: local\n    hooks:\n      - id: ruff\n")
    check = result(repo, "pre-commit")
    assert check.passed is False and check.fix == FIXES["pre-commit"]
    assert check.details == (
        "no detect-secrets, gitleaks or trufflehog hook in .pre-commit-config.yaml runs on commit or push",)
    (repo / ".pre-commit-config.yaml").write_text("repos:\n- repo: local\n  hooks:\n  - id: gitleaks\n")
    assert result(repo, "pre-commit").details == ()  # a passing check has no details


@POSIX_ONLY
def test_the_permission_fix_names_every_open_env_file(repo: Path) -> None:
    assert result(repo, "owner only").fix == "`chmod 600 .env`"  # what keeps it passing, too
    (repo / "config").mkdir()
    (repo / "config" / ".env.local").write_text("DEFAULT_MODEL=gpt-4o\n")
    for name in (".env", "config/.env.local"):
        (repo / name).chmod(0o640)
    assert result(repo, "owner only").fix == "`chmod 600 .env config/.env.local`"


def test_env_files_deep_in_folders_count_by_their_own_name(repo: Path) -> None:
    (repo / ".gitignore").write_text(".env\n")
    (repo / "deploy" / "prod").mkdir(parents=True)
    (repo / "deploy" / "prod" / ".env.local").write_text("DEFAULT_MODEL=gpt-4o\n")
    (repo / "deploy" / "prod" / ".env.example").write_text("DEFAULT_MODEL=\n")
    assert result(repo, "ignored").details == ("deploy/prod/.env.local is not ignored",)


def test_reads_in_test_files_anywhere_are_not_required_in_the_template(repo: Path) -> None:
    for name in ("src/tests/util.py", "test_smoke.py", "conftest.py", "pkg/conftest.py"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(f'import os\nos.getenv("ONLY_IN_{len(name)}")\n')
    (repo / "src" / "testing.py").write_text('import os\nos.getenv("IN_THE_APP")\n')
    git(repo, "add", ".")
    assert result(repo, ".env.example").details == ("IN_THE_APP is missing (read at src/testing.py:2)",)


def test_run_checklist_checks_the_current_folder_by_default(repo: Path, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    assert run_checklist() == run_checklist(repo)


def test_file_names_with_line_breaks_or_terminal_escapes_stay_on_their_line_of_the_table(
        repo: Path, real_looking) -> None:
    key = real_looking("groq", 7)
    (repo / "notes\n✅ all clear.txt").write_text(f"token {key}\n")
    (repo / "\x1b[2K\rforged.env").write_text("A=1\n")
    git(repo, "add", "notes\n✅ all clear.txt")
    table = run_checklist(repo).table()
    assert "\x1b" not in table and "\r" not in table
    lines = table.splitlines()
    assert f"     - notes\\n✅ all clear.txt:1: Groq key (groq), fingerprint {fingerprint(key)}" in lines
    assert "     - \\x1b[2K\\rforged.env is not ignored" in lines


@POSIX_ONLY
def test_the_permission_fix_is_a_command_that_works_for_names_with_spaces_quotes_or_a_leading_dash(
        repo: Path) -> None:
    names = ["my app.env", "-rf.env", "it's.env", "$(touch pwned).env"]
    for name in names:
        (repo / name).write_text("DEFAULT_MODEL=gpt-4o\n")
        (repo / name).chmod(0o644)
    fix = result(repo, "owner only").fix
    subprocess.run(["sh", "-c", fix.strip("`")], cwd=repo, check=True, capture_output=True)
    assert result(repo, "owner only").passed
    assert not (repo / "pwned").exists()


@POSIX_ONLY
def test_the_template_check_reads_regular_files_only_never_through_a_symlink_or_a_fifo(
        repo: Path, tmp_path: Path) -> None:
    """A clone can hold a symlink to anything (a file outside the repository, a device) and a
    working tree a FIFO where a tracked file was: reading them would count foreign code or hang."""
    outside = tmp_path / "elsewhere.py"
    outside.write_text('import os\nos.getenv("NOT_THIS_PROJECT")\n')
    (repo / "linked.py").symlink_to(outside)
    git(repo, "add", "linked.py")
    git(repo, "commit", "-q", "-m", "links")
    (repo / "app.py").unlink()
    os.mkfifo(repo / "app.py")  # tracked app.py is now a FIFO in the working tree
    done: list[CheckResult] = []
    worker = threading.Thread(target=lambda: done.append(result(repo, ".env.example")), daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # release the blocked reader before failing
        with open(os.open(repo / "app.py", os.O_WRONLY | os.O_NONBLOCK), "w"):
            pass
    assert done and done[0].passed, done


@pytest.mark.parametrize(("where", "said"), [
    ("bare.git", "is not a git work tree: it is a bare repository or a .git folder"),
    ("app/.git", "is not a git work tree: it is a bare repository or a .git folder"),
    ("missing", "is not a folder"),
    ("app/app.py", "is not a folder"),
])
def test_the_cli_says_plainly_why_a_root_without_a_work_tree_cannot_be_checked(
        repo: Path, tmp_path: Path, capsys, where: str, said: str) -> None:
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    for flags in ([], ["--staged"]):
        assert main([*flags, str(tmp_path / where)]) == 2
        err = capsys.readouterr().err
        assert err == f"checklist: {tmp_path / where} {said}\n"


def test_a_scanning_hook_left_to_the_manual_stage_does_not_count(repo: Path) -> None:
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: local\n    hooks:\n      - id: detect-secrets\n        stages: [manual]\n")
    check = result(repo, "pre-commit hook")
    assert not check.passed and check.details[0].endswith("runs on commit or push")


def test_a_pre_commit_config_that_cannot_be_read_fails_its_check_and_the_cli_still_answers(
        repo: Path, monkeypatch, capsys) -> None:
    reading = Path.read_text

    def refuse_the_config(self: Path, *args, **kwargs):
        if self.name == ".pre-commit-config.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return reading(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse_the_config)
    assert main([str(repo)]) == 1
    assert "- .pre-commit-config.yaml cannot be read: Permission denied" in capsys.readouterr().out


def test_a_key_in_a_commit_message_fails_history_until_filter_repo_replaces_the_message(
        git_repo: Path, real_looking, tmp_path: Path) -> None:
    key = real_looking("anthropic", 21)
    (git_repo / "settings.py").write_text('import os\nKEY = os.environ["ANTHROPIC_API_KEY"]\n')
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", f"switch to the new key {key}")
    check = check_of(run_checklist(git_repo, "history"), "history")
    assert not check.passed and "`--replace-message FILE` for a key in a commit message" in check.fix
    shown = f"(commit message):1: Anthropic key (anthropic), fingerprint {fingerprint(key)}, first added"
    assert check.details[0].startswith(shown) and key not in "".join(check.details)
    replacements = tmp_path / "replacements.txt"
    replacements.write_text(f"{key}==>REMOVED\n")
    subprocess.run([str(git_filter_repo()), "--replace-message", str(replacements), "--force"], cwd=git_repo,
                   check=True, capture_output=True)
    assert check_of(run_checklist(git_repo, "history"), "history").passed


@pytest.mark.parametrize("hide", ["in itself", "in info/exclude", "never added"])
def test_env_ignored_only_by_a_gitignore_that_is_not_committed_fails(repo: Path, hide: str) -> None:
    """A .gitignore that ignores itself (or is never added) stays on this machine: a teammate's
    clone has no rule for .env."""
    git(repo, "rm", "-q", "--cached", ".gitignore")
    if hide == "in itself":
        (repo / ".gitignore").write_text(".env\n.env.*\n!.env.example\n.gitignore\n")
    elif hide == "in info/exclude":
        (repo / ".git" / "info" / "exclude").write_text(".gitignore\n")
    check = result(repo, "ignored")
    assert not check.passed
    assert check.details == (".env is ignored only by .gitignore, which is not committed: "
                             "`git add .gitignore`, or a teammate's clone would commit .env",)


def test_a_committed_gitignore_in_a_subfolder_or_above_the_root_counts(repo: Path) -> None:
    (repo / "service").mkdir()
    (repo / "service" / ".gitignore").write_text(".env.local\n")
    (repo / "service" / ".env.local").write_text("A=1\n")
    (repo / "service" / ".env.local").chmod(0o600)
    git(repo, "add", "service/.gitignore")
    assert result(repo, "ignored").passed
    [check] = [r for r in run_checklist(repo / "service").results if "ignored" in r.title]
    assert check.passed, check.details  # the root's .gitignore is ../.gitignore from there


def test_without_python_dotenv_the_cli_cannot_run_and_says_what_to_install(repo: Path, tmp_path: Path):
    blocked = tmp_path / "blocked" / "dotenv"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text('raise ImportError("No module named \'dotenv\'")\n')
    path = os.pathsep.join([str(blocked.parent), str(PROJECT)])
    done = subprocess.run([sys.executable, "-m", "helpers.checklist", str(repo)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": path}, check=False)
    assert done.returncode == 2
    assert done.stderr == "checklist: helpers.env_files needs python-dotenv: pip install python-dotenv\n"
