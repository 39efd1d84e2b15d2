"""Tests for tutorial/settings_demo.py (notebook 02's scaffolding), plus one claim notebook 02 makes
about the SDK that tests/test_mock_provider.py does not pin: the silent retries of an unsendable key."""

from __future__ import annotations

import http.server
import logging
import os
import sys
import threading
from collections.abc import Iterator

import httpx2
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.key_formats import fake_key, fingerprint
from helpers.settings import SettingsError, load_settings
from tutorial.settings_demo import (
    SETTING_VARIABLES,
    DemoProject,
    captured_log,
    start_project,
    using_env,
)

KEY = fake_key("openai-project", 1)
DEV_KEY, PROD_KEY = fake_key("openai-project", 2), fake_key("openai-project", 4)
KEY_NAMES = {fingerprint(KEY): "KEY", fingerprint(DEV_KEY): "DEV_KEY", fingerprint(PROD_KEY): "PROD_KEY"}


@pytest.fixture
def demo() -> Iterator[DemoProject]:
    started = start_project("test-settings-demo")
    yield started
    started.scratch.restore()


def test_start_project_sets_aside_the_learners_settings_and_restore_puts_them_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("secrets_dir", "/somewhere")  # any spelling pydantic-settings would read
    demo = start_project("test-settings-demo")
    try:
        assert "OPENAI_API_KEY" not in os.environ and "secrets_dir" not in os.environ
        assert (demo.root / "pyproject.toml").is_file() and demo.notebooks.is_dir() and demo.secrets.is_dir()
        assert not demo.secrets.is_relative_to(demo.root)  # mounted secrets live outside the project
    finally:
        assert demo.scratch.restore()
    assert os.environ["OPENAI_API_KEY"] == KEY and not demo.scratch.folder.exists()


def test_starting_again_resets_the_project_instead_of_failing() -> None:
    first = start_project("test-settings-demo")
    (first.root / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")
    second = start_project("test-settings-demo")
    try:
        assert not first.scratch.folder.exists()
        assert not (second.root / ".env").exists()
    finally:
        second.scratch.restore()


def test_every_setting_variable_is_set_aside() -> None:
    assert {"OPENAI_API_KEY", "DEFAULT_MODEL", "APP_ENV", "TUTORIAL_PROVIDER", "SECRETS_DIR",
            "PYDANTIC_SETTINGS_DEBUG"} <= SETTING_VARIABLES


def test_a_subproject_is_a_project_root_and_can_be_made_twice(demo: DemoProject) -> None:
    folder = demo.subproject("odd")
    assert demo.subproject("odd") == folder and (folder / "pyproject.toml").is_file()
    (demo.scratch.folder / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")  # above the subproject
    with pytest.raises(SettingsError, match="OPENAI_API_KEY: is missing"):
        load_settings(search_from=folder)  # the search stopped at the subproject's root


def test_shown_writes_the_scratch_folder_as_tmp(demo: DemoProject) -> None:
    err = FileNotFoundError(f"no file {demo.root / '.env'}")
    assert demo.shown(err) == "FileNotFoundError: no file <tmp>/project/.env"
    assert demo.shown(demo.secrets) == "<tmp>/run-secrets"


def test_the_material_config_reads_the_environment_afresh_on_each_import(demo: DemoProject) -> None:
    path_before, modules_before = list(sys.path), set(sys.modules)
    with using_env(OPENAI_API_KEY=KEY, MAX_TOKENS="500"):
        assert demo.import_material_config().Config.MAX_TOKENS == 500
    with using_env(OPENAI_API_KEY=KEY, MAX_TOKENS="2k"), pytest.raises(ValueError, match="'2k'"):
        demo.import_material_config()
    with using_env(OPENAI_API_KEY=""), pytest.raises(ValueError, match="Missing required"):
        demo.import_material_config()
    assert sys.path == path_before and "material_config" not in set(sys.modules) - modules_before


def test_using_env_puts_back_what_was_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPERATURE", "0.1")
    with using_env(TEMPERATURE="0.9", MAX_TOKENS="5"):
        assert os.environ["TEMPERATURE"] == "0.9"
    assert os.environ["TEMPERATURE"] == "0.1" and "MAX_TOKENS" not in os.environ


def _layered(demo: DemoProject) -> None:
    (demo.root / ".env").write_text(f"OPENAI_API_KEY={DEV_KEY}\nMAX_TOKENS=1000\nTEMPERATURE=0.2\n")
    (demo.root / ".env.dev").write_text("MAX_TOKENS=500\nTEMPERATURE=0.5\n")
    (demo.secrets / "OPENAI_API_KEY").write_text(PROD_KEY + "\n")
    (demo.secrets / "DEFAULT_MODEL").write_text("gpt-4o\n")


def test_who_wins_names_every_place_and_the_winner(demo: DemoProject) -> None:
    _layered(demo)
    with using_env(TEMPERATURE="0.9"):
        settings = load_settings(search_from=demo.notebooks, secrets_dir=demo.secrets)
        rows = {row.split("|")[0].strip(): [cell.strip() for cell in row.split("|")[1:]]
                for row in demo.who_wins(settings, KEY_NAMES).splitlines()[1:]}
    assert rows["OPENAI_API_KEY"] == [".env, secrets folder", "DEV_KEY", ".env"]
    assert rows["DEFAULT_MODEL"] == ["secrets folder", "gpt-4o", "secrets folder"]
    assert rows["MAX_TOKENS"] == [".env.dev, .env", "500", ".env.dev"]
    assert rows["TEMPERATURE"] == ["environment, .env.dev, .env", "0.9", "environment"]
    assert rows["TUTORIAL_PROVIDER"] == ["-", "mock", "default"]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_who_wins_never_shows_a_key_even_one_it_cannot_name(seed: int) -> None:
    key = fake_key("openai-project", seed)
    demo = start_project("test-settings-demo-keys")
    try:
        (demo.root / ".env").write_text(f"OPENAI_API_KEY={key}\n")
        table = demo.who_wins(load_settings(search_from=demo.root), {})
    finally:
        demo.scratch.restore()
    assert key not in table and "(unknown key)" in table


def test_captured_log_collects_debug_records_and_puts_the_logger_back() -> None:
    logger = logging.getLogger("tutorial-settings-demo-test")
    logger.setLevel(logging.WARNING)
    handlers = list(logger.handlers)
    with pytest.raises(RuntimeError), captured_log(logger.name) as text:
        logger.debug("which source gave MAX_TOKENS")
        raise RuntimeError("a cell that fails half-way")
    assert "which source gave MAX_TOKENS" in text.getvalue()
    assert logger.level == logging.WARNING and logger.handlers == handlers


class _Answers401(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        body = b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}'
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.mark.claims
@pytest.mark.parametrize("pasted", ["\n", " ", "\t"], ids=["newline", "space", "tab"])
def test_with_the_default_retries_an_unsendable_key_is_tried_three_times_then_connection_error(
        pasted: str) -> None:
    """Notebook 02: "after two silent retries" (openai 3.51.0 `_base_client.py` retries the
    transport's LocalProtocolError like any connection error; h11 0.16.0 `_headers.py` refuses it)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers401)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    attempts: list[str] = []
    try:
        hooks = {"request": [lambda request: attempts.append(request.url.path)]}
        client = openai.OpenAI(api_key=KEY + pasted, base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
                               http_client=httpx2.Client(event_hooks=hooks))
        with pytest.raises(openai.APIConnectionError) as caught:
            client.models.list()
    finally:
        server.shutdown()
        server.server_close()
    assert client.max_retries == 2 and len(attempts) == 3
    assert isinstance(caught.value.__cause__, httpx2.LocalProtocolError)
    assert KEY in str(caught.value.__cause__) and KEY not in str(caught.value)
