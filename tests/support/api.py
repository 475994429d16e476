"""Small helpers for API tests."""


def code_of(response) -> str:
    """The contract error code of a response."""
    return response.json()["error"]["code"]


def answer(response) -> tuple[int, str]:
    """A response's status with its contract error code: `(404, "not_found")`."""
    return response.status_code, code_of(response)
