"""QTvoice's error answers: the doc's error table, and `ApiError` for a request found wanting."""

from __future__ import annotations

from starlette.responses import JSONResponse

ERRORS: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "Invalid request parameters"),
    401: ("UNAUTHORIZED", "Invalid API key"),
    403: ("FORBIDDEN", "Missing required permission"),
    404: ("NOT_FOUND", "Resource not found"),
    429: ("RATE_LIMITED", "Rate limit exceeded"),
    500: ("SERVER_ERROR", "Internal server error"),
}
"""The doc's error table: status -> (code, default message)."""


def _error_code_and_message(status: int) -> tuple[str, str]:
    return ERRORS.get(status, ERRORS[500])


class ApiError(Exception):
    """An answer in the doc's error shape; the code follows from the status."""

    def __init__(self, status: int, message: str | None = None) -> None:
        self.status = status
        self.message = message or _error_code_and_message(status)[1]
        super().__init__(self.message)


def error_response(status: int, message: str | None = None) -> JSONResponse:
    """The doc's error body, `{"error": ..., "code": ...}`, for `status`."""
    code, default_message = _error_code_and_message(status)
    return JSONResponse({"error": message or default_message, "code": code}, status_code=status)


def rate_limited(retry_after: int) -> JSONResponse:
    response = error_response(429)
    response.headers["Retry-After"] = str(retry_after)
    return response
