"""The allowlist logger, the record factory, the handler decorator and the metrics.

Each test writes marked values through one leak path and checks that the
captured output shows no piece of any marker. Each test also checks that the
exception or value really carried the marker, so a passing test means the
guard removed it.
"""

from __future__ import annotations

import json
import logging
import traceback
import warnings

import pandas as pd
import pg8000.exceptions
import pydantic
import pytest
from aws_lambda_powertools.metrics import MetricUnit
from nature_risk import observability
from nature_risk.api import create_resolver
from nature_risk.observability import (
    ACCESS_LOG_FORMAT,
    ALLOWED_ACCESS_LOG_VARIABLES,
    ALLOWED_LOG_KEYS,
    InvocationFailed,
    get_logger,
    lambda_entry,
)

from tests.canary.capture import capture_output
from tests.canary.markers import Markers, find_leaks, leak_report

SERVICE = "observability-test"


class Context:
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    function_name = "observability-test"
    aws_request_id = "8f6c1c52-0a6e-4e0b-9a55-6d1c7b7b7b7b"


@pytest.fixture
def markers() -> Markers:
    return Markers()


@pytest.fixture
def logger():
    return get_logger(SERVICE)


def assert_no_leak(text: str, markers: Markers) -> None:
    leaks = find_leaks(text, markers.issued)
    assert not leaks, leak_report(text, leaks)


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def product_lines(text: str) -> list[dict]:
    return [line for line in json_lines(text) if line.get("service") == SERVICE]


def raise_with(error: Exception) -> None:
    raise error


def api_event(route_key: str, raw_path: str) -> dict:
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "requestContext": {"requestId": "canary-request-1", "http": {"method": "GET"}},
    }


def test_marker_search_finds_pieces(markers):
    marker = markers.new()
    assert find_leaks(f"x {marker[2:7]} y", [marker]) == [marker[2:6]]
    assert find_leaks(f"x {marker.lower()} y", [marker])
    assert find_leaks(f"x {marker[:3]} y", [marker]) == []


def test_formatter_drops_unlisted_extra_keys(logger, markers):
    with capture_output() as output:
        logger.info(
            "Holding read",
            extra={"company": markers.new(), "route": "GET /health", "count": 3},
        )
    line = product_lines(output.getvalue())[-1]
    assert line["message"] == "Holding read"
    assert line["route"] == "GET /health"
    assert line["count"] == 3
    assert "company" not in line
    assert_no_leak(output.getvalue(), markers)


def test_formatter_drops_values_of_wrong_type(logger, markers):
    with capture_output() as output:
        logger.info("Counted", extra={"count": markers.new(), "status": "200"})
    line = product_lines(output.getvalue())[-1]
    assert "count" not in line
    assert "status" not in line
    assert_no_leak(output.getvalue(), markers)


def test_release_location_keys_written(logger):
    location = {
        "release_file": "ENCORE files/07. Pressure mat ratings.csv",
        "release_row": 22,
        "release_column": "Disturbances (e.g noise, light)",
    }
    with capture_output() as output:
        logger.error("Knowledge base invalid", extra=location)
    line = product_lines(output.getvalue())[-1]
    assert {key: line.get(key) for key in location} == location


@pytest.mark.parametrize(
    "extra",
    [
        {"release_file": "06.csv\nforged line"},
        {"release_file": 'name "quoted"'},
        {"release_column": "x" * 257},
        {"release_column": 3},
        {"release_row": "22"},
        {"release_row": True},
    ],
)
def test_release_location_keys_checked(logger, extra):
    with capture_output() as output:
        logger.error("Knowledge base invalid", extra=extra)
    line = product_lines(output.getvalue())[-1]
    assert not set(extra) & set(line)


def test_formatter_drops_appended_keys(logger, markers):
    with capture_output() as output:
        logger.append_keys(portfolio_name=markers.new())
        logger.thread_safe_append_keys(owner=markers.new())
        logger.info("Portfolio saved")
    logger.clear_state()
    logger.thread_safe_clear_keys()
    assert product_lines(output.getvalue())[-1]["message"] == "Portfolio saved"
    assert_no_leak(output.getvalue(), markers)


def test_message_arguments_never_formatted(logger, markers):
    with capture_output() as output:
        logger.info("Holding %s has code %s", markers.new(), markers.new())
        logger.warning("Value %(value)s", {"value": markers.new()})
    lines = product_lines(output.getvalue())
    assert lines[-2]["message"] == "Holding %s has code %s"
    assert lines[-1]["message"] == "Value %(value)s"
    assert_no_leak(output.getvalue(), markers)


@pytest.mark.parametrize("kind", ["dict", "list", "exception", "object"])
def test_non_string_message_withheld(logger, markers, kind):
    marker = markers.new()
    message = {
        "dict": {"body": marker},
        "list": [marker],
        "exception": ValueError(marker),
        "object": type("Holding", (), {"__str__": lambda self: marker})(),
    }[kind]
    with capture_output() as output:
        logger.info(message)
    assert product_lines(output.getvalue())[-1]["message"] == (
        observability.WITHHELD_MESSAGE
    )
    assert_no_leak(output.getvalue(), markers)


def test_exception_logged_as_class_and_frames(logger, markers):
    marker = markers.new()
    with capture_output() as output:
        try:
            raise_with(ValueError(f"could not convert string to float: '{marker}'"))
        except ValueError:
            logger.exception("Parsing failed")
    line = product_lines(output.getvalue())[-1]
    assert line["error_class"] == "ValueError"
    assert line["frames"][-1]["function"] == "raise_with"
    assert set(line["frames"][-1]) == {"file", "line", "function"}
    assert "exception" not in line
    assert "stack_trace" not in line
    assert_no_leak(output.getvalue(), markers)


def test_exception_notes_and_cause_dropped(logger, markers):
    cause_marker = markers.new()
    note_marker = markers.new()
    with capture_output() as output:
        try:
            try:
                raise KeyError(cause_marker)
            except KeyError as cause:
                error = RuntimeError("lookup failed")
                error.add_note(note_marker)
                raise error from cause
        except RuntimeError:
            logger.error("Lookup failed", exc_info=True)
    assert product_lines(output.getvalue())[-1]["error_class"] == "RuntimeError"
    assert_no_leak(output.getvalue(), markers)


def test_pydantic_error_logged_without_input(logger, markers):
    class Holding(pydantic.BaseModel):
        amount: float

    marker = markers.new()
    with pytest.raises(pydantic.ValidationError) as raised:
        Holding(amount=marker)
    assert marker in str(raised.value)

    with capture_output() as output:
        logger.error("Validation failed", exc_info=raised.value)
        logger.info(
            "Request rejected",
            extra=observability.validation_log_fields(
                raised.value.errors(include_input=False)
            ),
        )
    lines = product_lines(output.getvalue())
    assert lines[-2]["error_class"] == "ValidationError"
    assert lines[-1]["problems"] == 1
    assert_no_leak(output.getvalue(), markers)


def test_pandas_error_logged_without_input(logger, markers):
    marker = markers.new()
    with pytest.raises(ValueError, match=marker) as raised:
        pd.to_numeric(pd.Series(["12", marker]))

    with capture_output() as output:
        logger.error("Amount column failed", exc_info=raised.value)
    assert product_lines(output.getvalue())[-1]["error_class"] == "ValueError"
    assert_no_leak(output.getvalue(), markers)


def test_pg8000_error_logged_without_key_value(logger, markers):
    marker = markers.new()
    error = pg8000.exceptions.DatabaseError(
        {
            "S": "ERROR",
            "C": "23505",
            "M": 'duplicate key value violates unique constraint "portfolios_name"',
            "D": f"Key (owner_sub, name)=(user-1, {marker}) already exists.",
        }
    )
    assert marker in str(error)

    with capture_output() as output:
        try:
            raise error
        except pg8000.exceptions.DatabaseError:
            logger.exception("Saving failed")
    assert product_lines(output.getvalue())[-1]["error_class"] == "DatabaseError"
    assert_no_leak(output.getvalue(), markers)


def test_library_records_withheld(markers):
    with capture_output() as output:
        logging.getLogger("botocore.endpoint").warning("Sending %s", markers.new())
        logging.getLogger().error("Root says %s", markers.new())
        logging.getLogger("pg8000").error(f"Query with {markers.new()}")
        logging.getLogger("aws_lambda_powertools").exception(ValueError(markers.new()))
    text = output.getvalue()
    assert observability.LIBRARY_MESSAGE in text
    assert_no_leak(text, markers)


def test_warning_logged_as_category_only(logger, markers):
    with capture_output() as output:
        warnings.warn(f"Could not infer format of {markers.new()}", stacklevel=1)
        warnings.warn(markers.new(), DeprecationWarning, stacklevel=1)
    lines = product_lines(output.getvalue())
    assert [line["message"] for line in lines[-2:]] == [
        observability.WARNING_MESSAGE,
        observability.WARNING_MESSAGE,
    ]
    assert [line["error_class"] for line in lines[-2:]] == [
        "UserWarning",
        "DeprecationWarning",
    ]
    assert_no_leak(output.getvalue(), markers)


def test_every_written_key_allowlisted(logger, markers):
    with capture_output() as output:
        logger.info("One", extra={"anything": markers.new(), "frames": "x"})
        try:
            raise OSError(markers.new())
        except OSError:
            logger.exception("Two")
    for line in product_lines(output.getvalue()):
        assert set(line) <= ALLOWED_LOG_KEYS


def test_entry_returns_500_with_request_id(logger, markers):
    marker = markers.new()

    @lambda_entry(logger)
    def handler(event, context):
        raise_with(LookupError(marker))

    with capture_output() as output:
        response = handler(api_event("GET /health", "/health"), Context())
    assert response["statusCode"] == 500
    body = json.loads(response["body"])
    assert body["error"]["request_id"] == "canary-request-1"
    assert marker not in response["body"]
    lines = product_lines(output.getvalue())
    assert lines[-2]["message"] == "Unhandled error"
    assert lines[-2]["error_class"] == "LookupError"
    assert lines[-1]["status"] == 500
    assert_no_leak(output.getvalue(), markers)


def test_entry_scheduled_error_has_fixed_text(logger, markers):
    marker = markers.new()

    @lambda_entry(logger)
    def handler(event, context):
        raise_with(ValueError(marker))

    with capture_output() as output, pytest.raises(InvocationFailed) as raised:
        handler({"id": "event-1", "source": "aws.events"}, Context())
    error = raised.value
    assert error.__cause__ is None
    assert error.__suppress_context__
    runtime_output = str(error) + "".join(traceback.format_exception(error))
    assert_no_leak(runtime_output, markers)
    assert product_lines(output.getvalue())[-2]["error_class"] == "ValueError"
    assert_no_leak(output.getvalue(), markers)


def test_entry_logs_route_key_not_raw_path(logger, markers):
    app = create_resolver(logger)

    @app.get("/portfolios/<id>")
    def get_portfolio(id: str):
        return {}

    @lambda_entry(logger, resolver=app)
    def handler(event, context):
        return {"statusCode": 200, "body": "{}"}

    raw_path = f"/portfolios/{markers.new()}"
    with capture_output() as output:
        handler(api_event("GET /portfolios/{id}", raw_path), Context())
        handler(api_event(f"GET {raw_path}x", raw_path), Context())
    lines = [
        line
        for line in product_lines(output.getvalue())
        if line["message"] == "Request completed"
    ]
    assert lines[-2]["route"] == "GET /portfolios/{id}"
    assert lines[-2]["status"] == 200
    assert isinstance(lines[-2]["duration_ms"], float)
    assert lines[-1]["route"] == "unmatched"
    assert_no_leak(output.getvalue(), markers)


def test_entry_rejects_unregistered_route_key(logger, markers):
    app = create_resolver(logger)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @lambda_entry(logger, resolver=app)
    def handler(event, context):
        return {"statusCode": 404, "body": "{}"}

    route_key = f"GET /portfolios/{markers.new()}"
    with capture_output() as output:
        handler(api_event(route_key, "/portfolios"), Context())
    assert product_lines(output.getvalue())[-1]["route"] == "unmatched"
    assert_no_leak(output.getvalue(), markers)


def test_entry_clears_keys_between_invocations(logger):
    seen = []

    @lambda_entry(logger)
    def handler(event, context):
        seen.append(dict(logger.get_current_keys()))
        logger.append_keys(error_code="first_only")
        return {"statusCode": 200}

    with capture_output():
        handler(api_event("GET /health", "/health"), Context())
        handler(api_event("GET /health", "/health"), Context())
    assert "error_code" not in seen[1]


def test_log_event_env_cannot_log_event(logger, markers, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    get_logger(SERVICE)

    @logger.inject_lambda_context(log_event=True)
    def handler(event, context):
        return {"statusCode": 200}

    event = api_event("GET /health", "/health")
    event["body"] = markers.new()
    with capture_output() as output:
        handler(event, Context())
    assert_no_leak(output.getvalue(), markers)


def test_metrics_reject_unlisted_dimension(markers):
    with pytest.raises(ValueError, match="ALLOWED_DIMENSIONS"):
        observability.metrics.add_dimension("company", markers.new())
    with pytest.raises(ValueError, match="fixed values"):
        observability.metrics.add_dimension("status_class", markers.new())
    with pytest.raises(ValueError, match="route key"):
        observability.metrics.add_dimension("route", markers.new())


def test_metrics_reject_metadata_and_text_units(markers):
    with pytest.raises(ValueError, match="metadata"):
        observability.metrics.add_metadata("name", markers.new())
    with pytest.raises(ValueError):
        observability.metrics.add_metric("Holdings", MetricUnit.Bytes, 1)
    with pytest.raises(ValueError, match="CamelCase"):
        observability.metrics.add_metric(markers.new("x-"), MetricUnit.Count, 1)
    observability.metrics.clear_metrics()


def test_metrics_flush_writes_no_input(logger, markers):
    app = create_resolver(logger)

    @app.post("/portfolios")
    def create_portfolio():
        return {}

    @lambda_entry(logger, resolver=app)
    def handler(event, context):
        return {"statusCode": 201}

    event = api_event("POST /portfolios", "/portfolios")
    event["body"] = markers.new()
    with capture_output() as output:
        handler(event, Context())
    emf = [line for line in json_lines(output.getvalue()) if "_aws" in line]
    assert emf[-1]["route"] == "POST /portfolios"
    assert emf[-1]["status_class"] == "2xx"
    assert_no_leak(output.getvalue(), markers)


def test_access_log_format_allowed_variables():
    fields = json.loads(ACCESS_LOG_FORMAT)
    assert set(fields.values()) == ALLOWED_ACCESS_LOG_VARIABLES
    for variable in ALLOWED_ACCESS_LOG_VARIABLES:
        assert "path" not in variable.lower()
        assert "querystring" not in variable.lower()
        assert "header" not in variable.lower()
        assert "useragent" not in variable.lower()
        assert "error" not in variable.lower()
    assert "$context.identity.sourceIp" in ALLOWED_ACCESS_LOG_VARIABLES
    assert "$context.routeKey" in ALLOWED_ACCESS_LOG_VARIABLES


def test_error_code_keeps_sqlstate(logger):
    with capture_output() as output:
        logger.error("Saving failed", extra={"error_code": "23505"})
        logger.error("Saving failed", extra={"error_code": "no spaces allowed"})
    lines = product_lines(output.getvalue())
    assert lines[-2]["error_code"] == "23505"
    assert "error_code" not in lines[-1]
