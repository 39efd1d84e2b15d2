"""Stand-in for `google.colab._message`: the browser's answer to a request, from a dictionary.

SECRETS maps a secret's name to what Colab's front end would answer for it: whether it exists,
whether this notebook was granted access, and its value.
"""

SECRETS: dict[str, dict[str, object]] = {}


def blocking_request(request_type, request="", timeout_sec=5, parent=None):
    if request_type != "GetSecret":
        raise NotImplementedError(request_type)
    return dict(SECRETS.get(request["key"], {"exists": False}))
