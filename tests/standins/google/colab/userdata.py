"""Stand-in for `google.colab.userdata`, with the control flow of googlecolab/colabtools
`google/colab/userdata.py`: exists? then access? then the payload."""

import threading

from google.colab import _message, errors


class NotebookAccessError(Exception):
    """Exception thrown when the current notebook doesn't have access to the requested secret."""

    def __init__(self, key):
        super().__init__(f"Notebook does not have access to secret {key}")


class SecretNotFoundError(errors.Error):
    """Exception thrown when the requested secret is not found."""

    def __init__(self, key):
        super().__init__(f"Secret {key} does not exist.")


_userdata_lock = threading.Lock()


def get(key):
    with _userdata_lock:
        resp = _message.blocking_request("GetSecret", request={"key": key}, timeout_sec=None)
    if not resp.get("exists", False):
        raise SecretNotFoundError(key)
    if not resp.get("access", False):
        raise NotebookAccessError(key)
    return resp.get("payload", "")
