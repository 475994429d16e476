"""Small helpers for API tests."""


def code_of(response) -> str:
    """The contract error code of a response."""
    return response.json()["error"]["code"]
