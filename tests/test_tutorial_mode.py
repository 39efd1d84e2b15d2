"""Tests for tutorial.mode: which provider the notebooks use."""

from __future__ import annotations

import pytest

from tutorial.mode import UnknownModeError, tutorial_mode


@pytest.fixture
def project(project, monkeypatch):
    """The shared project, with its notebooks/ folder as the working directory."""
    monkeypatch.chdir(project / "notebooks")
    return project


def test_mode_is_mock_without_any_setting(project) -> None:
    assert tutorial_mode({}) == "mock"


def test_mode_comes_from_the_projects_env_file(project) -> None:
    (project / ".env").write_text("OPENAI_API_KEY=x\nTUTORIAL_PROVIDER=Live\n")
    assert tutorial_mode({}) == "live"


def test_the_environment_beats_the_env_file(project) -> None:
    (project / ".env").write_text("TUTORIAL_PROVIDER=live\n")
    assert tutorial_mode({"TUTORIAL_PROVIDER": "mock"}) == "mock"


def test_an_env_file_outside_the_project_is_not_read(project) -> None:
    (project.parent / ".env").write_text("TUTORIAL_PROVIDER=live\n")
    try:
        assert tutorial_mode({}) == "mock"
    finally:
        (project.parent / ".env").unlink()


def test_an_unknown_mode_names_the_variable_and_the_choices(project) -> None:
    with pytest.raises(UnknownModeError, match="TUTORIAL_PROVIDER='remote'.*mock, live"):
        tutorial_mode({"TUTORIAL_PROVIDER": "remote"})
