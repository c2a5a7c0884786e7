"""The errors a Svea call can end in; each one tells the caller what it can do about it.

None of them ever carries the password: their text is built by the client from the method, the path,
the status and Svea's own error message, never from headers.
"""

from __future__ import annotations


class SveaError(Exception):
    """Base of every Svea error. `status` is the HTTP status, None when no answer came."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


class SveaAuthError(SveaError):
    """Svea refused the kundenummer, brukernavn or passord (401/403): fix Oppsett Svea; retrying won't help."""


class SveaUnavailable(SveaError):
    """No usable answer: 5xx, 429, a timeout or no connection. Retry later with the same idempotency key.

    For a POST, the request may or may not have taken effect; only the idempotency key makes a retry safe.
    """


class SveaRejected(SveaError):
    """Svea refused the request itself (400, 413, 415, 422, ...). `reason` is Svea's explanation."""

    def __init__(
        self, reason: str, *, status: int | None = None, code: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(reason, status=status)
        self.reason = reason
        self.code = code
        self.field = field


class SveaMalformedResponse(SveaError):
    """Svea answered, but not in the protocol's shape (bad JSON, missing or mistyped fields)."""


class SveaNotFound(SveaError):
    """Svea knows no such case, request or dispatch (404)."""


class SveaConflict(SveaError):
    """The case's state forbids the action (409), e.g. closing or paying on a case already closed."""
