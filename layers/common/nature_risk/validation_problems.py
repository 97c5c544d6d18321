"""Turn pydantic's validation errors of request parameters into problems.

Each problem names the parameter as ``query.limit`` or ``path.module`` and
states in a plain sentence what its value must be. The sentence comes from the
error's ``type`` and, for limits, from its ``ctx``, which contains the limit the
route declares. It never comes from ``input`` or ``msg``, because both can
contain the caller's value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Powertools' OpenAPI validation (3.37) keeps a query parameter's values as a
# list only when the raw query string repeats the parameter, and a list fails
# a scalar type with one of these types.
_REPEATABLE_TYPE_ERRORS = frozenset(
    {"bool_type", "float_type", "int_type", "string_type"}
)

_FIXED_REASONS = {
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "uuid_parsing": "must be a UUID",
    "uuid_type": "must be a UUID",
    "json_invalid": "must be valid JSON",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "extra_forbidden": "is not an accepted field",
}


def _plural(count: object, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# Each limit error type: the ctx key of its limit, and the reason built from it.
_LIMIT_REASONS: dict[str, tuple[str, Callable[[object], str]]] = {
    "greater_than_equal": ("ge", lambda limit: f"must be at least {limit}"),
    "greater_than": ("gt", lambda limit: f"must be greater than {limit}"),
    "less_than_equal": ("le", lambda limit: f"must be at most {limit}"),
    "less_than": ("lt", lambda limit: f"must be less than {limit}"),
    "multiple_of": ("multiple_of", lambda limit: f"must be a multiple of {limit}"),
    "string_too_long": (
        "max_length",
        lambda limit: f"must be at most {_plural(limit, 'character')}",
    ),
    "string_too_short": (
        "min_length",
        lambda limit: f"must be at least {_plural(limit, 'character')}",
    ),
    "too_long": (
        "max_length",
        lambda limit: f"must have at most {_plural(limit, 'item')}",
    ),
    "too_short": (
        "min_length",
        lambda limit: f"must have at least {_plural(limit, 'item')}",
    ),
    # ctx "expected" lists the values the route accepts, such as "'a' or 'b'".
    "literal_error": ("expected", lambda expected: f"must be {expected}"),
    "enum": ("expected", lambda expected: f"must be {expected}"),
}


def _reason(error_type: str, location: tuple[Any, ...], ctx: Mapping) -> str:
    if (
        error_type in _REPEATABLE_TYPE_ERRORS
        and len(location) == 2
        and location[0] == "query"
    ):
        return "must be given once"
    if error_type in _FIXED_REASONS:
        return _FIXED_REASONS[error_type]
    if error_type in _LIMIT_REASONS:
        key, build = _LIMIT_REASONS[error_type]
        limit = ctx.get(key)
        # Limits are numbers and literal lists are text. Anything else is not
        # a limit the route declared, so it is not quoted.
        if isinstance(limit, int | float | str) and not isinstance(limit, bool):
            return build(limit)
    return "is invalid"


def parameter_problem(error: Mapping[str, Any]) -> dict[str, object]:
    """Build the response problem of one pydantic error: the field and a reason."""
    location = tuple(error.get("loc", ()))
    ctx = error.get("ctx")
    reason = _reason(
        str(error.get("type", "")),
        location,
        ctx if isinstance(ctx, Mapping) else {},
    )
    return {"field": ".".join(str(part) for part in location), "reason": reason}


def parameter_problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, object]]:
    """Build the response problems of a request's validation errors, in order."""
    return [parameter_problem(error) for error in errors]
