"""Tests for helpers.checklist: each rule failing and passing on throwaway git repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.checklist import main, run_checklist
from helpers.key_formats import KEY_FORMATS, fake_key, fingerprint, reportable_keys

PROJECT = Path(__file__).resolve().parents[1]
POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="POSIX file permissions")


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
    (repo / ".pre-commit-config.yaml").write_text("repos:\n- repo: https://github.com/gitleaks/gitleaks\n")
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


def test_this_project_passes_its_own_checklist() -> None:
    report = run_checklist(PROJECT)
    # .env permissions depend on the machine running the tests, not on the repository.
    failed = [r for r in report.results if not r.passed and "owner only" not in r.title]
    assert failed == [], report.table()

