"""Domain errors. Services raise these; the HTTP layer turns them into RFC 9457 problem details."""


class DomainError(Exception):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, errors: list[tuple[str, str]] | None = None, headers: dict | None = None,
                 keep_changes: bool = False):
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.headers = headers or {}
        # Security records (a failed login, a revoked token family) must persist although the request fails.
        self.keep_changes = keep_changes


def problems_found(count: int) -> str:
    return f"{count} problem{'s' if count != 1 else ''} found; nothing was stored."


class ValidationFailed(DomainError):
    status, title, type_slug = 422, "Validation failed", "validation"

    def __init__(self, errors: list[tuple[str, str]], detail: str | None = None):
        super().__init__(detail or problems_found(len(errors)), errors)


class Unauthenticated(DomainError):
    status, title, type_slug = 401, "Authentication required", "unauthenticated"


class Forbidden(DomainError):
    status, title, type_slug = 403, "Forbidden", "forbidden"


class NotFound(DomainError):
    status, title, type_slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, type_slug = 409, "Conflict", "conflict"


class PreconditionFailed(DomainError):
    status, title, type_slug = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(DomainError):
    status, title, type_slug = 428, "Precondition required", "precondition-required"


class TooManyAttempts(DomainError):
    status, title, type_slug = 429, "Too many attempts", "too-many-attempts"

    def __init__(self, detail: str, retry_after_seconds: int):
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after_seconds)))})
        self.retry_after_seconds = retry_after_seconds
