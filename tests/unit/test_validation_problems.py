"""Problems built from pydantic's validation errors of request parameters."""

from __future__ import annotations

import pytest
from nature_risk.validation_problems import parameter_problem, parameter_problems

# A value that must never appear in a reason.
SECRET = "Zebra-Secret-4711"


def error(type_: str, loc: tuple, **ctx: object) -> dict[str, object]:
    """Build a pydantic error dict, with the caller's value as ``input``."""
    item: dict[str, object] = {
        "type": type_,
        "loc": loc,
        "msg": f"Input {SECRET} is wrong",
        "input": SECRET,
    }
    if ctx:
        item["ctx"] = ctx
    return item


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (error("missing", ("query", "q")), "is required"),
        (error("int_parsing", ("query", "limit")), "must be a whole number"),
        (error("int_from_float", ("query", "limit")), "must be a whole number"),
        (error("float_parsing", ("query", "x")), "must be a number"),
        (error("bool_parsing", ("query", "x")), "must be true or false"),
        (error("uuid_parsing", ("path", "id")), "must be a UUID"),
        (error("greater_than_equal", ("query", "limit"), ge=1), "must be at least 1"),
        (error("greater_than", ("query", "x"), gt=0), "must be greater than 0"),
        (error("less_than_equal", ("query", "limit"), le=500), "must be at most 500"),
        (error("less_than", ("query", "x"), lt=1.5), "must be less than 1.5"),
        (
            error("string_too_long", ("query", "q"), max_length=100),
            "must be at most 100 characters",
        ),
        (
            error("string_too_short", ("query", "q"), min_length=1),
            "must be at least 1 character",
        ),
        (
            error("literal_error", ("query", "x"), expected="'a' or 'b'"),
            "must be 'a' or 'b'",
        ),
        (error("no_such_type", ("query", "x")), "is invalid"),
    ],
)
def test_reason_from_type_and_ctx(item: dict[str, object], reason: str) -> None:
    assert parameter_problem(item)["reason"] == reason


@pytest.mark.parametrize("type_", ["int_type", "bool_type", "string_type"])
def test_repeated_query_parameter_named(type_: str) -> None:
    problem = parameter_problem(error(type_, ("query", "limit")))

    assert problem == {"field": "query.limit", "reason": "must be given once"}


def test_type_error_outside_query_not_repeated() -> None:
    problem = parameter_problem(error("int_type", ("path", "id")))

    assert problem["reason"] == "must be a whole number"


def test_limit_without_ctx_is_invalid() -> None:
    problem = parameter_problem(error("less_than_equal", ("query", "limit")))

    assert problem["reason"] == "is invalid"


def test_ctx_from_validator_not_echoed() -> None:
    item = error("value_error", ("query", "x"), error=ValueError(SECRET))

    assert SECRET not in str(parameter_problem(item))


def test_problems_never_quote_input() -> None:
    types = ["missing", "int_type", "int_parsing", "string_too_long", "value_error"]
    items = [error(type_, ("query", "x"), max_length=3) for type_ in types]

    problems = parameter_problems(items)

    assert len(problems) == len(types)
    assert SECRET not in str(problems)
