"""Tests for helpers.detect_secrets_plugin: the plugin finds every catalogued shape, the hook blocks."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from helpers.detect_secrets_plugin import HOOK_ARGUMENTS, LLMKeyDetector
from helpers.key_formats import KEY_FORMATS, fake_key

PROJECT = Path(__file__).resolve().parents[1]
PROVIDER_SHAPES = [fmt for fmt in KEY_FORMATS if not fmt.context and fmt.name not in {"sk-generic", "jwt"}]


def hook(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "helpers.detect_secrets_plugin", *args],
                          cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("fmt", KEY_FORMATS, ids=lambda f: f.name)
def test_the_plugin_finds_every_catalogued_shape_and_allows_fakes(fmt, real_looking) -> None:
    detector = LLMKeyDetector()
    real = real_looking(fmt.name, 2)
    assert [secret in real for secret in detector.analyze_string(f"2026-01-01 INFO using {real}")] == [True]
    assert list(detector.analyze_string(f"2026-01-01 INFO using {fmt.fake(2)}")) == []


def test_the_hook_blocks_a_key_and_shows_where_but_not_the_key(tmp_path: Path, real_looking) -> None:
    key = real_looking("openai-project", 3)
    (tmp_path / "app.py").write_text(f'from openai import OpenAI\n\nclient = OpenAI(api_key="{key}")\n')
    (tmp_path / "fakes.py").write_text(f'KEY = "{fake_key("openai-project", 3)}"\n')
    done = hook("app.py", "fakes.py", cwd=tmp_path)
    assert done.returncode == 1
    assert "Location:    app.py:3" in done.stdout and "fakes.py" not in done.stdout
    assert key not in done.stdout + done.stderr


def test_the_hook_passes_clean_files(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text('import os\n\nKEY = os.environ["OPENAI_API_KEY"]\n')
    assert hook("app.py", cwd=tmp_path).returncode == 0


@pytest.mark.claims
def test_default_detect_secrets_lacks_rules_that_the_plugin_adds(tmp_path: Path, real_looking) -> None:
    """The measurement behind the module docstring: one key per line, in a plain log file."""
    lines = [f"2026-01-01 INFO {fmt.name}: {real_looking(fmt.name, 4)}" for fmt in PROVIDER_SHAPES]
    (tmp_path / "app.log").write_text("\n".join(lines) + "\n")

    def found_by(*args: str) -> set[str]:
        command = [sys.executable, "-m", "detect_secrets.pre_commit_hook", "--json", *args, "app.log"]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
        results = json.loads(done.stdout or "{}").get("results", {}).get("app.log", [])
        return {PROVIDER_SHAPES[r["line_number"] - 1].name for r in results}

    default = found_by("--no-verify")
    ours = found_by(*HOOK_ARGUMENTS, "--plugin", str(PROJECT / "helpers" / "detect_secrets_plugin.py"))
    openai_shapes = {"openai-legacy", "openai-project", "openai-service-account", "openai-admin"}
    assert {"openai-legacy", "aws-access-key-id", "github"} <= default <= openai_shapes | {
        "aws-access-key-id", "github"}  # nothing for Anthropic, Google, DeepSeek, Groq, xAI, ...
    assert ours == {fmt.name for fmt in PROVIDER_SHAPES}


@pytest.mark.claims
def test_default_openai_rule_misses_most_project_keys(real_looking) -> None:
    """It wants 20 letters or digits on each side of "T3BlbkFJ"; project keys also hold - and _."""
    from detect_secrets.plugins.openai import OpenAIDetector

    keys = [real_looking("openai-project", seed) for seed in range(100)]
    caught = sum(bool(list(OpenAIDetector().analyze_string(f"key: {key}"))) for key in keys)
    assert 0 < caught < 50, f"detect-secrets' OpenAI rule caught {caught} of 100 project keys"


def test_default_detect_secrets_misses_keys_passed_to_a_call_and_low_entropy_shapes(tmp_path, real_looking):
    call = f'client = OpenAI(api_key="{real_looking("openai-legacy", 5)}")'
    deepseek = [f'KEY_{seed} = "{real_looking("sk-32", seed)}"' for seed in range(20)]
    (tmp_path / "app.py").write_text("\n".join([call, *deepseek]) + "\n")

    def lines_found(done: subprocess.CompletedProcess[str]) -> set[int]:
        return {r["line_number"] for r in json.loads(done.stdout)["results"].get("app.py", [])}

    command = [sys.executable, "-m", "detect_secrets.pre_commit_hook", "--json", "--no-verify", "app.py"]
    default = lines_found(subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False))
    assert 1 not in default  # the legacy shape has a rule, but the line looks like `x = f(...)`
    assert len(default) < len(deepseek)  # entropy alone catches some sk-<32 hex> keys, not all
    assert lines_found(hook("--json", "app.py", cwd=tmp_path)) == set(range(1, len(deepseek) + 2))


def test_this_repository_passes_its_own_scan() -> None:
    tracked = subprocess.run(["git", "-C", str(PROJECT), "ls-files", "-z"], capture_output=True,
                             text=True, check=True).stdout.split("\0")
    files = [name for name in tracked if name and (PROJECT / name).is_file()]
    done = hook(*files, cwd=PROJECT)
    assert done.returncode == 0, done.stdout


def test_the_pre_commit_hooks_pin_the_versions_the_project_runs() -> None:
    """Hooks run in pre-commit's own environments: each pin must match what .venv holds (installed
    from requirements.txt and requirements-dev.txt)."""
    hooks = [hook for repo in yaml.safe_load((PROJECT / ".pre-commit-config.yaml").read_text())["repos"]
             for hook in repo["hooks"]]
    pins = [pin.split("==") for hook in hooks for pin in hook.get("additional_dependencies", [])]
    assert pins and all(len(pin) == 2 for pin in pins), "every additional dependency is pinned with =="
    assert {name: version for name, version in pins} == {name: metadata.version(name) for name, _ in pins}
    assert {"detect-secrets", "python-dotenv", "ruff"} <= {name for name, _version in pins}
    assert "python -m helpers.detect_secrets_plugin" in [hook.get("entry") for hook in hooks]


def staged_names(repo: Path) -> list[str]:
    return subprocess.run(["git", "-C", str(repo), "diff", "--cached", "--name-only", "--diff-filter=ACM"],
                          capture_output=True, text=True, check=True).stdout.split()


@pytest.fixture
def staged_leak(git_repo: Path, real_looking, request) -> tuple[Path, str]:
    """A throwaway repository with a key staged in a file called `request.param`."""
    key = real_looking("openai-project", 7)
    path = git_repo / request.param
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{{\n  "name": "shop",\n  "apiKey": "{key}"\n}}\n')
    subprocess.run(["git", "-C", str(git_repo), "add", "-A"], check=True)
    return git_repo, key


FILTERED_NAMES = ["swagger.json", "package-lock.json", "docs/swagger/openapi.yaml", "yarn.lock",
                  "dist/app.js.map", "icons/logo.svg"]


@pytest.mark.parametrize("staged_leak", FILTERED_NAMES, indirect=True)
def test_the_hook_blocks_a_staged_key_whatever_the_file_is_called(staged_leak) -> None:
    repo, key = staged_leak
    done = hook(*staged_names(repo), cwd=repo)  # as the notebook's pre-commit script runs it
    assert done.returncode == 1 and "Location:" in done.stdout
    assert key not in done.stdout + done.stderr


@pytest.mark.claims
@pytest.mark.parametrize("staged_leak", FILTERED_NAMES, indirect=True)
def test_detect_secrets_default_filters_skip_these_files_by_name(staged_leak) -> None:
    """detect-secrets 1.5.0 (filters/heuristic.py: is_lock_file, is_swagger_file, is_non_text_file)
    never looks into these files, even with our plugin, unless HOOK_ARGUMENTS turns the filters off."""
    repo, _key = staged_leak
    arguments = list(HOOK_ARGUMENTS)
    for name in ("is_lock_file", "is_swagger_file", "is_non_text_file"):
        at = arguments.index(f"detect_secrets.filters.heuristic.{name}")
        del arguments[at - 1:at + 1]  # the flag and its value
    plugin = str(PROJECT / "helpers" / "detect_secrets_plugin.py")
    command = [sys.executable, "-m", "detect_secrets.pre_commit_hook", *arguments, "--plugin", plugin]
    done = subprocess.run([*command, *staged_names(repo)], cwd=repo, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout
