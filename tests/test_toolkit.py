"""The toolkit as a user takes it: each module copies alone (with the siblings its docstring
declares), and every name the design promises is exported."""

from __future__ import annotations

import ast
import importlib
import re
import runpy
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
MODULES = sorted(path.stem for path in HELPERS.glob("*.py") if path.stem != "__init__")

# One real call per module, run in the copy: each must print "ok".
ONE_CALL = {
    "key_formats": """
        [match] = m.find_keys("key: " + m.fake_key("openai-project", 1))
        assert match.format.name == "openai-project" and len(m.fingerprint("x")) == 8""",
    "key_hygiene": """
        assert m.diagnose_key(" sk-proj-abc") and m.diagnose_key("key-of-a-new-shape-1234") == []""",
    "redaction": """
        text = "using " + fake_key("anthropic", 1)
        assert "REDACTED" in m.redact(text) and fake_key("anthropic", 1) not in m.redact(text)""",
    "notebook_guard": """
        assert fake_key("groq", 1) not in m.redact_text("key " + fake_key("groq", 1), ())""",
    "env_files": """
        import os, tempfile
        folder = tempfile.mkdtemp()
        open(os.path.join(folder, ".env"), "w").write("A=1\\n")
        environ = {}
        m.load_env(override=False, start=folder, root=folder, environ=environ)
        assert environ == {"A": "1"}""",
    "env_reads": """
        assert [name for name, _ in m.env_reads("import os\\nos.getenv('X_Y')\\n")] == ["X_Y"]""",
    "settings": """
        import os
        os.environ["OPENAI_API_KEY"] = fake_key("openai-project", 1)
        assert m.load_settings("test").openai_api_key.get_secret_value() == fake_key("openai-project", 1)""",
    "key_pool": """
        pool = m.KeyPool([fake_key("openai-project", 1), fake_key("openai-project", 2)])
        assert len(pool) == 2 and pool.acquire() != pool.acquire()""",
    "usage": """
        budget = m.UsageBudget(limit=10)
        assert budget is not None""",
    "secret_store": """
        import os
        os.environ["OPENAI_API_KEY"] = fake_key("openai-project", 1)
        assert m.EnvStore().get("openai_api_key") == fake_key("openai-project", 1)""",
    "validation": """
        assert m.check_key("") is m.KeyCheck.MALFORMED""",
    "mock_provider": """
        key = fake_key("openai-project", 1)
        assert len(m.FakeProvider({key: "ok"}).client(key).models.list().data) > 0""",
    "checklist": """
        import subprocess, tempfile
        folder = tempfile.mkdtemp()
        subprocess.run(["git", "init", "-q", folder], check=True)
        assert len(m.run_checklist(folder).results) >= 6""",
    "detect_secrets_plugin": """
        real_looking = fake_key("groq", 1).replace("FAKE", "REAL")
        assert list(m.LLMKeyDetector().analyze_string("k = " + real_looking))""",
    "key_scan": """
        real_looking = fake_key("groq", 1).replace("FAKE", "REAL")
        [finding] = m.findings_in_text("x\\nk = " + real_looking, "app.py")
        assert real_looking not in repr(finding)""",
    "git_scan": """
        import pathlib, subprocess, tempfile
        folder = pathlib.Path(tempfile.mkdtemp())
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
        (folder / "app.py").write_text("k = " + fake_key("groq", 1).replace("FAKE", "REAL") + "\\n")
        subprocess.run(["git", "-C", str(folder), "add", "app.py"], check=True)
        assert len(m.scan_index(folder)) == 1""",
    "hook_config": """
        import pathlib, tempfile
        config = pathlib.Path(tempfile.mkdtemp()) / ".pre-commit-config.yaml"
        config.write_text("repos:\\n  - repo: local\\n    hooks:\\n      - id: gitleaks\\n"
                          "# detect-secrets\\n")
        assert m.secret_scanning_hooks(config) == ["gitleaks"]""",
    "provider_errors": """
        import httpx2, openai
        request = httpx2.Request("GET", "https://api.example.com/v1/models")
        body = {"type": "insufficient_quota", "code": "project_spend_limit_exceeded"}  # as the SDK passes it
        error = openai.RateLimitError("spent", response=httpx2.Response(429, request=request), body=body)
        assert m.classify_error(error) is m.ErrorKind("quota")""",
    "message_redaction": """
        assert fake_key("groq", 1) not in m.redact_text("key " + fake_key("groq", 1), ())""",
    "guard_streams": """
        import io
        target = io.StringIO()
        stream = m.RedactingStream(target)
        stream.write("key " + fake_key("groq", 1) + "\\n")
        stream.flush()
        assert fake_key("groq", 1) not in target.getvalue()""",
    "aws_secret_store": """
        assert m.DEFAULT_CLIENT_CONFIG.connect_timeout <= 5""",
    "quick_check": """
        check = m.QuickCheck([("sk-", ""), ("token", "=")])
        assert check.found_in("using sk-x") and check.found_in("token=1")
        assert not check.found_in("a token")""",
    "secret_values": """
        text = m.redact("pin 4921 and " + fake_key("groq", 1), ["4921"])
        assert "4921" not in text and fake_key("groq", 1) not in text""",
    "redacted_values": """
        import urllib.parse
        from my_app_kit.secret_values import SecretValues
        value = urllib.parse.urlsplit("https://example.com/v1?key=" + fake_key("google", 1))
        cleaned = m.clean_value(value, SecretValues(()))
        assert type(cleaned) is type(value) and fake_key("google", 1) not in repr(cleaned)""",
    "notebook_keys": """
        import os
        os.environ["OPENAI_API_KEY"] = fake_key("openai-project", 1)
        assert m.get_key("OPENAI_API_KEY", prompt=False) == fake_key("openai-project", 1)""",
}


def declared_siblings(module: str) -> set[str]:
    """The sibling files named on the ``Needs:`` paragraph of the module's docstring."""
    docstring = ast.get_docstring(ast.parse((HELPERS / f"{module}.py").read_text())) or ""
    needs = re.search(r"^Needs:(.*?)(?:\n\s*\n|\Z)", docstring, re.MULTILINE | re.DOTALL)
    assert needs, f"helpers/{module}.py: its docstring has no 'Needs:' paragraph"
    return {name for name in re.findall(r"(\w+)\.py", needs.group(1)) if name != module}


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_a_real_call_in_this_test(module: str) -> None:
    assert module in ONE_CALL, f"add one real call of helpers/{module}.py to ONE_CALL"


@pytest.mark.parametrize("module", MODULES)
def test_each_module_copies_alone_with_the_siblings_it_declares(module: str, tmp_path: Path) -> None:
    package = tmp_path / "my_app_kit"  # any name but "helpers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in {module, *declared_siblings(module)}:
        shutil.copy(HELPERS / f"{name}.py", package / f"{name}.py")
    program = textwrap.dedent("""
        import sys
        sys.modules["helpers"] = sys.modules["tutorial"] = None  # the installed originals are off limits
        sys.path.insert(0, {folder!r})
        import importlib
        m = importlib.import_module("my_app_kit.{module}")
        kf = importlib.import_module("my_app_kit.key_formats") if "key_formats" in {available!r} else None
        fake_key = kf.fake_key if kf else (lambda name, seed: "sk-proj-FAKE" + "a1B2" * 30 + str(seed))
    """).format(folder=str(tmp_path), module=module, available=sorted({module, *declared_siblings(module)}))
    program += textwrap.dedent(ONE_CALL.get(module, "raise SystemExit('no call')")) + "\nprint('ok')\n"
    done = subprocess.run([sys.executable, "-I", "-c", program], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False)
    assert done.stdout.strip().endswith("ok"), done.stderr[-3000:]


# The public names of DESIGN.md section 5: a contract that other code relies on.
PROMISED = {
    "key_formats": ["KeyFormat", "KEY_FORMATS", "find_keys", "fingerprint", "is_allowed_fake",
                    "reportable_keys"],
    "redaction": ["redact", "RedactingFilter", "install_redaction"],
    "notebook_guard": ["load_ipython_extension"],
    "env_files": ["load_env", "is_git_ignored", "env_drift", "find_project_root"],
    "settings": ["AppSettings", "load_settings", "SettingsError"],
    "key_pool": ["KeyPool", "NoHealthyKeyError", "call_with_failover"],
    "secret_store": ["SecretStore", "EnvStore", "FileStore", "AWSSecretsManagerStore", "ChainStore"],
    "validation": ["KeyCheck", "check_key", "diagnose_key"],
    "key_hygiene": ["diagnose_key"],
    "mock_provider": ["FakeProvider"],
    "checklist": ["run_checklist", "main"],
    "notebook_keys": ["get_key"],
}


@pytest.mark.parametrize("module", MODULES)
def test_every_module_declares_all_and_exports_what_the_design_promises(module: str) -> None:
    imported = importlib.import_module(f"helpers.{module}")
    exported = getattr(imported, "__all__", None)
    assert exported is not None, f"helpers/{module}.py has no __all__"
    assert all(hasattr(imported, name) for name in exported)
    missing = [name for name in PROMISED.get(module, []) if name not in exported]
    assert not missing, f"helpers.{module} does not export {missing}"


@pytest.mark.parametrize("module", MODULES)
def test_a_module_s_exceptions_share_one_base(module: str) -> None:
    imported = importlib.import_module(f"helpers.{module}")
    errors = [obj for name in imported.__all__ if isinstance(obj := getattr(imported, name), type)
              and issubclass(obj, Exception) and obj.__module__ == imported.__name__]
    roots = [error for error in errors
             if not any(issubclass(error, other) for other in errors if other is not error)]
    assert len(roots) <= 1, f"helpers.{module}: errors with no common base: {[r.__name__ for r in roots]}"


def readme_copy_with() -> dict[str, set[str]]:
    """The README's helper table: module -> the files its "copy it with" column names."""
    readme = (HELPERS.parent / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)\.py` \|[^|\n]*\|([^|\n]*)\|", readme, re.MULTILINE)
    return {module: set(re.findall(r"`(\w+)\.py`", siblings)) for module, siblings in rows}


def test_the_readme_table_lists_every_module_with_the_siblings_its_docstring_declares() -> None:
    table = readme_copy_with()
    assert set(table) == set(MODULES)
    assert {module: declared_siblings(module) for module in MODULES} == table


def test_the_files_the_suite_runs_first_exist() -> None:
    # The root conftest.py orders the files for pytest-xdist; a renamed file would silently drop out.
    root = HELPERS.parent
    slowest_first = runpy.run_path(str(root / "conftest.py"))["SLOWEST_FIRST"]
    assert slowest_first and [path for path in slowest_first if not (root / path).is_file()] == []
