"""Domain exceptions, each mapped to one HTTP status in ``nature_risk.api``.

Messages are fixed text. They may name rows, fields and limits but never quote
a value the caller sent, because messages reach logs as well as responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class Problem(NamedTuple):
    """One thing wrong with the input: where it is and why, without the value."""

    reason: str
    row: int | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, object]:
        fields = self._asdict().items()
        return {key: value for key, value in fields if value is not None}


class NatureRiskError(Exception):
    """Base of every error the product raises on purpose."""

    status = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        # Response headers the error response keeps, such as a resource's ETag.
        self.headers = dict(headers or {})


class InputError(NatureRiskError):
    """The request's content is invalid; ``problems`` lists every row and field."""

    status = 400
    code = "invalid_input"

    def __init__(
        self,
        message: str,
        problems: list[Problem] | None = None,
        *,
        truncated: bool = False,
    ) -> None:
        super().__init__(message)
        self.problems = problems or []
        self.truncated = truncated


class PayloadTooLarge(NatureRiskError):
    """The body or the number of rows is over a stated limit."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(NatureRiskError):
    """The request's Content-Type is not one the route accepts."""

    status = 415
    code = "unsupported_media_type"


class NotFound(NatureRiskError):
    """The resource does not exist or belongs to someone else."""

    status = 404
    code = "not_found"


class PreconditionFailed(NatureRiskError):
    """The ``If-Match`` version is stale."""

    status = 412
    code = "precondition_failed"


class PreconditionRequired(NatureRiskError):
    """An update came without ``If-Match``."""

    status = 428
    code = "precondition_required"


class Conflict(NatureRiskError):
    """The request conflicts with the stored state or with a limit per user."""

    status = 409
    code = "conflict"


class Unauthorized(NatureRiskError):
    """The request carries no verified identity."""

    status = 401
    code = "unauthorized"


class ServiceUnavailable(NatureRiskError):
    """A dependency (the database, a secret) cannot be reached or trusted."""

    status = 503
    code = "service_unavailable"
