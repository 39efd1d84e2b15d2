"""pytest configuration for the whole project, notebooks included."""

import os


def pytest_configure() -> None:
    # The notebooks always run against the fake provider under test, whatever a learner's .env
    # says: the environment beats .env (helpers.mock_provider.tutorial_mode), and nbval's kernels
    # inherit this process's environment.
    os.environ["TUTORIAL_PROVIDER"] = "mock"


# Under `make test` (pytest-xdist: -n 2 --dist loadfile --no-loadscope-reorder) each worker takes
# the next whole file in collection order; a long file taken last leaves the other worker idle at
# the end. So the files that take longest come first (measured with --durations=0), the rest after
# them in their usual order.
SLOWEST_FIRST = (
    "tests/test_browser.py",
    "tests/test_notebook_exercises.py",
    "notebooks/07_keys_in_notebooks.ipynb",
    "tests/test_secret_store.py",
    "tests/test_detect_secrets_plugin.py",
    "tests/test_settings.py",
    "tests/test_notebook_guard.py",
    "tests/test_redaction.py",
    "tests/test_toolkit.py",
)


def pytest_collection_modifyitems(items: list) -> None:
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOWEST_FIRST.index(path) if path in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # a stable sort: the tests (or cells) of one file keep their order
