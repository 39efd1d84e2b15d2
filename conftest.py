"""pytest configuration for the whole project, notebooks included."""

import os


def pytest_configure() -> None:
    # The notebooks always run against the fake provider under test, whatever a learner's .env
    # says: the environment beats .env (helpers.mock_provider.tutorial_mode), and nbval's kernels
    # inherit this process's environment.
    os.environ["TUTORIAL_PROVIDER"] = "mock"
