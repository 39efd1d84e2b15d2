"""Tests for helpers.detect_secrets_plugin: the plugin finds every catalogued shape, the hook blocks."""

from __future__ import annotations

import json
import random
import string
import subprocess
import sys
from collections.abc import Callable
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


def deepseek_key(seed: int) -> str:
    """A DeepSeek key of the real shape, "sk-" and 32 hex digits, made at run time (no FAKE marker:
    its "k" is not a hex digit, and this measurement needs the exact alphabet)."""
    rng = random.Random(seed)
    return "sk-" + "".join(rng.choice("0123456789abcdef") for _ in range(32))


def dashscope_style_key(seed: int) -> str:
    """"sk-" and 32 lower-case letters or digits, the other shape the sk-32 pattern takes."""
    rng = random.Random(seed)
    return "sk-" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(32))


def entropy_rule_catches(key: str) -> bool:
    """detect-secrets' entropy rules on a quoted key in a .py file, as its scan runs them."""
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString, HexHighEntropyString

    line = f'KEY = "{key}"'
    return any(plugin.analyze_line(filename="app.py", line=line, line_number=1)
               for plugin in (Base64HighEntropyString(), HexHighEntropyString()))


@pytest.mark.claims
def test_default_entropy_rules_never_catch_a_deepseek_key() -> None:
    """detect-secrets 1.5.0 (plugins/high_entropy_strings.py): the base64 rule wants a Shannon
    entropy above 4.5 bits per character; "sk-" and 32 hex digits hold at most 19 distinct
    characters, so at most log2(19) = 4.25 bits; the hex rule wants hex digits only, and "sk-" is
    not. Keys from the larger [a-z0-9] alphabet (DashScope's shape) get through now and then."""
    assert sum(entropy_rule_catches(deepseek_key(seed)) for seed in range(100)) == 0
    assert 0 < sum(entropy_rule_catches(dashscope_style_key(seed)) for seed in range(100)) < 50


@pytest.mark.claims
def test_the_entropy_figures_of_the_module_docstring(real_looking) -> None:
    def caught(make: Callable[[int], str]) -> int:
        return sum(entropy_rule_catches(make(seed)) for seed in range(100))

    figures = {"sk-32 (DeepSeek, hex)": caught(deepseek_key), "sk-32 ([a-z0-9])": caught(dashscope_style_key),
               **{name: caught(lambda seed, name=name: real_looking(name, seed))
                  for name in ("huggingface", "google", "openai-project", "anthropic", "groq")}}
    assert figures == {"sk-32 (DeepSeek, hex)": 0, "sk-32 ([a-z0-9])": 23, "huggingface": 84, "google": 93,
                       "openai-project": 100, "anthropic": 100, "groq": 100}, "update the docstring"


def scan_with_default_detect_secrets(folder: Path, *files: str) -> dict[str, set[int]]:
    """Lines flagged per file by detect-secrets' own hook with its default rules."""
    command = [sys.executable, "-m", "detect_secrets.pre_commit_hook", "--json", "--no-verify", *files]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    results = json.loads(done.stdout or "{}").get("results", {})  # no output at all when nothing is found
    return {name: {r["line_number"] for r in found} for name, found in results.items()}


@pytest.mark.claims
def test_default_keyword_rule_flags_secret_names_in_env_files_whatever_the_value(tmp_path: Path) -> None:
    """detect-secrets 1.5.0 (plugins/keyword.py): a name holding "api_key" followed by any word is a
    "Secret Keyword", placeholders included; only templates such as ${VAR} or <...> are spared."""
    values = [deepseek_key(1), "your-openai-api-key-here", "changeme", "hello", "${KEY}", "<your key>"]
    lines = [f"OPENAI_API_KEY_{n}={value}\n" for n, value in enumerate(values, 1)]
    (tmp_path / ".env").write_text("".join(lines))
    assert scan_with_default_detect_secrets(tmp_path, ".env") == {".env": {1, 2, 3, 4}}
    assert lines_found_by_our_hook(tmp_path, ".env") == {1}


def lines_found_by_our_hook(folder: Path, name: str) -> set[int]:
    done = hook("--json", name, cwd=folder)
    return {r["line_number"] for r in json.loads(done.stdout)["results"].get(name, [])}


def test_default_detect_secrets_misses_keys_passed_to_a_call_and_deepseek_keys(tmp_path, real_looking):
    call = f'client = OpenAI(api_key="{real_looking("openai-legacy", 5)}")'
    deepseek = [f'KEY_{seed} = "{deepseek_key(seed)}"' for seed in range(20)]
    (tmp_path / "app.py").write_text("\n".join([call, *deepseek]) + "\n")
    # The legacy shape has a rule, but the line looks like `x = f(...)`; entropy catches no hex key.
    assert scan_with_default_detect_secrets(tmp_path, "app.py").get("app.py", set()) == set()
    assert lines_found_by_our_hook(tmp_path, "app.py") == set(range(1, len(deepseek) + 2))


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


@pytest.mark.parametrize("name", ["-rf.py", "--help", "--baseline"])
def test_the_hook_scans_a_file_whose_name_starts_with_a_dash(tmp_path: Path, real_looking, name: str) -> None:
    """pre-commit passes file names after the hook's options: one read as an option would be left
    unscanned (``--help`` even exits with 0)."""
    key = real_looking("groq", 9)
    (tmp_path / name).write_text(f'GROQ = "{key}"\n')
    (tmp_path / "clean.py").write_text("x = 1\n")
    done = hook("clean.py", name, cwd=tmp_path)
    assert done.returncode == 1 and f"Location:    ./{name}:1" in done.stdout
    assert key not in done.stdout + done.stderr


@pytest.mark.parametrize("fmt", KEY_FORMATS, ids=lambda f: f.name)
def test_the_hook_lets_every_fake_pass_on_a_line_of_its_own_and_blocks_the_real_shape(
        tmp_path: Path, real_looking, fmt) -> None:
    """A built-in rule whose pattern captures only a prefix (GitHub's yields "ghp") hands
    ``--exclude-secrets`` a value without the FAKE marker: the fake would be blocked."""
    (tmp_path / "fakes.txt").write_text("".join(f"{fmt.fake(seed)}\n" for seed in range(3)))
    (tmp_path / "real.txt").write_text(f"{real_looking(fmt.name, 1)}\n")
    assert hook("fakes.txt", cwd=tmp_path).returncode == 0
    done = hook("real.txt", cwd=tmp_path)
    assert done.returncode == 1 and "Location:    real.txt:1" in done.stdout
