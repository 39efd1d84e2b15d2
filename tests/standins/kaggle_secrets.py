"""Stand-in for Kaggle's `kaggle_secrets`, with the classes and control flow of Kaggle/docker-python
`patches/kaggle_secrets.py`; the HTTP request to Kaggle's service is replaced by ATTACHED (label ->
value of each secret attached to this notebook) and INTERNET_ON."""

import os

_KAGGLE_USER_SECRETS_TOKEN_ENV_VAR_NAME = "KAGGLE_USER_SECRETS_TOKEN"

ATTACHED: dict[str, str] = {}
INTERNET_ON = True


class CredentialError(Exception):
    pass


class BackendError(Exception):
    pass


class ValidationError(Exception):
    pass


class UserSecretsClient:
    GET_USER_SECRET_BY_LABEL_ENDPOINT = "/requests/GetUserSecretByLabelRequest"

    def __init__(self):
        self.jwt_token = os.getenv(_KAGGLE_USER_SECRETS_TOKEN_ENV_VAR_NAME)
        if self.jwt_token is None:
            raise CredentialError(
                "A JWT Token is required to use the UserSecretsClient, "
                f"but none found in environment variable {_KAGGLE_USER_SECRETS_TOKEN_ENV_VAR_NAME}")

    def _make_post_request(self, data, endpoint):
        if not INTERNET_ON:
            raise ConnectionError("Connection error trying to communicate with service.")
        label = data["Label"]
        if label not in ATTACHED:
            response_json = {"wasSuccessful": False, "errors": [f"No user secrets exist for label {label}"]}
            raise BackendError(f"Unexpected response from the service. Response: {response_json}.")
        return {"secret": ATTACHED[label]}

    def get_secret(self, label) -> str:
        if label is None or len(label) == 0:
            raise ValidationError("Label must be non-empty.")
        response_json = self._make_post_request({"Label": label}, self.GET_USER_SECRET_BY_LABEL_ENDPOINT)
        if "secret" not in response_json:
            raise BackendError(f"Unexpected response from the service. Response: {response_json}")
        return response_json["secret"]
