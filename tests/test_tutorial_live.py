"""Tests for tutorial.live: a live cell with no usable key says what to do and never shows a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.key_formats import fake_key
from tutorial.live import live_key, live_keys

KEY = fake_key("openai-project", 1)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / ".env.example").write_text("OPENAI_API_KEY=your-openai-api-key-here\n")
    return tmp_path


def test_the_environment_wins_over_the_env_file(root: Path) -> None:
    (root / ".env").write_text(f"OPENAI_API_KEY={fake_key('openai-project', 2)}\n")
    assert live_key(environ={"OPENAI_API_KEY": KEY}, root=root) == KEY
    assert live_key(environ={}, root=root) == fake_key("openai-project", 2)


def test_no_key_anywhere_says_where_to_put_one(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert live_key(environ={}, root=root) is None
    assert "OPENAI_API_KEY is not set. Copy .env.example to .env" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["your-openai-api-key-here", f" {KEY}", f"'{KEY}'", f"Bearer {KEY}"])
def test_a_placeholder_or_a_damaged_key_is_refused_before_any_request(
        root: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    (root / ".env").write_text(f'OPENAI_API_KEY="{value}"\n')
    assert live_key(environ={}, root=root) is None
    out = capsys.readouterr().out
    assert "cannot be used as it is" in out and "No request was sent" in out and KEY not in out


def test_live_keys_reads_every_numbered_key_and_skips_the_unusable(root: Path, capsys) -> None:
    environ = {"OPENAI_API_KEY_1": KEY, "OPENAI_API_KEY_2": "your-openai-api-key-here",
               "OPENAI_API_KEY_10": fake_key("openai-project", 3), "OPENAI_API_KEY_X": KEY}
    assert live_keys(environ=environ, root=root) == [KEY, fake_key("openai-project", 3)]
    assert "OPENAI_API_KEY_2" in capsys.readouterr().out
    assert live_keys(environ={}, root=root) == []
