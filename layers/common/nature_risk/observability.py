"""Logger, tracer and metrics for every function, built to keep user input out.

Five guards stand between a request and the logs:

* a log record factory rewrites every record when it is created, for every
  logger including the root logger, before any handler receives it: exception
  info becomes the class name and stack frames, ``%`` arguments are dropped and
  records from third-party libraries keep their level but lose their text;
* ``AllowlistFilter``, on the product loggers and the root logger's handlers,
  deletes extra record attributes outside ``ALLOWED_LOG_KEYS``;
* the ``AllowlistFormatter`` writes only the keys in ``ALLOWED_LOG_KEYS``;
* ``lambda_entry`` wraps every ``lambda_handler``: it clears the keys, logs
  route, status and duration, and turns an unhandled exception into a 500
  (API events) or into ``InvocationFailed``, whose text is fixed (schedules);
* the tracer never records responses or exceptions, and the metrics accept
  only the dimensions in ``ALLOWED_DIMENSIONS``.

``docs/privacy.md`` describes the contract and the tests that enforce it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

DEFAULT_SERVICE = "nature-risk"
METRICS_NAMESPACE = "NatureRisk"

# Keys a log line may carry, by the type their value must have. A key outside
# these sets, or a value of another type, is dropped by the formatter.
TEXT_LOG_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "function_name",
        "function_request_id",
        "xray_trace_id",
        "correlation_id",
        "route",
        "error_class",
        "error_code",
        "layer_pack",
        "pack_location",
        "setting",
        "release_file",
        "release_column",
    }
)
COUNT_LOG_KEYS = frozenset(
    {
        "status",
        "count",
        "rows",
        "holdings",
        "assets",
        "unmatched",
        "problems",
        "portfolios",
        "objects",
        "bytes",
        "release_row",
    }
)
NUMBER_LOG_KEYS = frozenset({"duration_ms"})
FLAG_LOG_KEYS = frozenset({"cold_start"})
FRAMES_LOG_KEY = "frames"
ALLOWED_LOG_KEYS = (
    TEXT_LOG_KEYS | COUNT_LOG_KEYS | NUMBER_LOG_KEYS | FLAG_LOG_KEYS | {FRAMES_LOG_KEY}
)

# Text values of these keys are short identifiers, never free text.
_MAX_TEXT_VALUE = 256
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
# Product error codes (``invalid_input``) and SQLSTATE codes (``23505``).
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.]{1,64}$")
# Layer-pack folder names and manifest fields or table rows, such as
# ``indicators[0].units`` or ``table row 3``. They come from the deployment.
_PACK_TEXT = re.compile(r"^[A-Za-z0-9_.\[\] -]{1,128}$")
# Environment variable names, which come from the deployment.
_SETTING_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
# ENCORE release file paths and column headers, such as ``ENCORE files/06.
# Dependency mat ratings.csv`` or ``Disturbances (e.g noise, light)``. They
# come from the deployed release folder, never from a request.
_RELEASE_TEXT = re.compile(r"[\w .,:;()\[\]&'*+\-/]{1,256}")
_MAX_FRAMES = 40

WITHHELD_MESSAGE = "Log message withheld because it is not a fixed string"
LIBRARY_MESSAGE = "Log record from a library withheld"
WARNING_MESSAGE = "Warning raised"
_WARNING_CATEGORY = re.compile(r":\d+: ([A-Za-z_][A-Za-z0-9_]*): ")

# Metric dimensions and the values each may take. ``route`` takes the route
# key of a registered route (see ``lambda_entry``), so it stays low-cardinality.
ALLOWED_DIMENSIONS: Mapping[str, frozenset[str] | None] = {
    "service": None,
    "route": None,
    "status_class": frozenset({"2xx", "3xx", "4xx", "5xx"}),
}
ALLOWED_METRIC_UNITS = frozenset({MetricUnit.Count, MetricUnit.Milliseconds})
_METRIC_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")
_ROUTE_KEY = re.compile(r"^(\$default|[A-Z]+ /[A-Za-z0-9_\-./{}+]*)$")
UNMATCHED_ROUTE = "unmatched"
SCHEDULED_ROUTE = "scheduled"

# API Gateway HTTP API access log: one JSON line per request with the request
# id, caller IP, route template, status, latency (ms) and response length. The
# raw path, query string, headers, user agent and error text are left out
# because each can carry what the caller typed. template.yaml uses this format
# verbatim (tests/template checks it).
ACCESS_LOG_FIELDS: Mapping[str, str] = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "responseLength": "$context.responseLength",
}
ACCESS_LOG_FORMAT = json.dumps(dict(ACCESS_LOG_FIELDS), separators=(",", ":"))
ALLOWED_ACCESS_LOG_VARIABLES = frozenset(ACCESS_LOG_FIELDS.values())

_product_loggers: set[str] = {"nature_risk"}


class InvocationFailed(Exception):  # noqa: N818 - the name the Lambda console shows
    """An invocation failed. The text is fixed so the runtime's error output is safe."""

    def __init__(self) -> None:
        super().__init__("The invocation failed; the function log has the error class")


def exception_fields(
    error: BaseException, trace: TracebackType | None = None
) -> dict[str, Any]:
    """Describe ``error`` by its class and stack frames, without its message."""
    frames = traceback.extract_tb(trace if trace is not None else error.__traceback__)
    return {
        "error_class": type(error).__name__,
        FRAMES_LOG_KEY: [
            {"file": frame.filename, "line": frame.lineno, "function": frame.name}
            for frame in frames[-_MAX_FRAMES:]
        ],
    }


def _is_product_logger(name: str) -> bool:
    return any(
        name == product or name.startswith(f"{product}.")
        for product in _product_loggers
    )


def sanitize_record(record: logging.LogRecord) -> logging.LogRecord:
    """Strip from ``record`` everything that could quote input, in place.

    Exception info becomes ``error_class`` and ``frames`` attributes. Product
    loggers keep a string message as it was written (the format string, never
    its arguments). Warnings keep only their category. Third-party records keep
    their level and logger name but not their text. A record is rewritten once.
    """
    if getattr(record, "sanitized", False):
        return record
    record.sanitized = True
    if isinstance(record.exc_info, tuple) and record.exc_info[1] is not None:
        _, error, trace = record.exc_info
        for key, value in exception_fields(error, trace).items():
            setattr(record, key, value)
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None

    if record.name == "py.warnings":
        # logging.captureWarnings logs the formatted warning as the message, or
        # as the only argument of "%s" in older Pythons.
        formatted = str(record.args[0] if record.args else record.msg)
        category = _WARNING_CATEGORY.search(formatted)
        record.error_class = category.group(1) if category else "Warning"
        record.msg = WARNING_MESSAGE
    elif _is_product_logger(record.name):
        if not isinstance(record.msg, str):
            record.msg = WITHHELD_MESSAGE
    else:
        record.msg = f"{LIBRARY_MESSAGE} (logger {record.name})"
    record.args = None
    return record


def install_record_factory() -> None:
    """Make every ``LogRecord`` pass through ``sanitize_record``; idempotent."""
    current = logging.getLogRecordFactory()
    if getattr(current, "sanitizes_records", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return sanitize_record(current(*args, **kwargs))

    make_record.sanitizes_records = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


_STANDARD_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "sanitized"}


class AllowlistFilter(logging.Filter):
    """Sanitize a record and delete its extra attributes that are not allowlisted.

    Installed on product loggers, where it runs before any handler and before
    propagation, and on the root logger's handlers, such as the Lambda runtime's.
    """

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003
        sanitize_record(record)
        for key in list(record.__dict__):
            if key in _STANDARD_RECORD_ATTRIBUTES:
                continue
            if not _is_allowed_value(key, record.__dict__[key]):
                del record.__dict__[key]
        return True


RECORD_FILTER = AllowlistFilter()


def guard_root_handlers() -> None:
    """Add ``RECORD_FILTER`` to every handler of the root logger; idempotent."""
    for handler in logging.getLogger().handlers:
        if RECORD_FILTER not in handler.filters:
            handler.addFilter(RECORD_FILTER)


class AllowlistFormatter(LambdaPowertoolsFormatter):
    """Powertools JSON formatter that writes only allowlisted keys.

    The message is the record's format string as written; a non-string message
    (an event, a dict, an exception object) is replaced. Exception text, the
    Powertools ``stack_trace`` and every extra or appended key outside
    ``ALLOWED_LOG_KEYS`` are dropped.
    """

    def format(self, record: logging.LogRecord) -> str:  # noqa: A003
        sanitize_record(record)
        log = self._extract_log_keys(log_record=record)
        log["message"] = record.msg
        log["xray_trace_id"] = self._get_latest_trace_id()
        return self.serialize(log=allowed_log_fields(log))


def _is_frame_list(value: object) -> bool:
    if not isinstance(value, list):
        return False
    for frame in value:
        if not isinstance(frame, dict) or set(frame) != {"file", "line", "function"}:
            return False
        if not isinstance(frame["line"], int) or not isinstance(frame["function"], str):
            return False
    return True


def _is_allowed_value(key: str, value: object) -> bool:
    if key in TEXT_LOG_KEYS:
        if not isinstance(value, str) or len(value) > _MAX_TEXT_VALUE:
            return False
        if key == "error_class":
            return bool(_IDENTIFIER.match(value))
        if key == "error_code":
            return bool(_ERROR_CODE.match(value))
        if key in ("layer_pack", "pack_location"):
            return bool(_PACK_TEXT.match(value))
        if key == "setting":
            return bool(_SETTING_NAME.fullmatch(value))
        if key in ("release_file", "release_column"):
            return _RELEASE_TEXT.fullmatch(value) is not None
        return True
    if key in COUNT_LOG_KEYS:
        return isinstance(value, int) and not isinstance(value, bool)
    if key in NUMBER_LOG_KEYS:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if key in FLAG_LOG_KEYS:
        return isinstance(value, bool)
    if key == FRAMES_LOG_KEY:
        return _is_frame_list(value)
    return False


def allowed_log_fields(log: Mapping[str, object]) -> dict[str, object]:
    """Keep the allowlisted keys of ``log`` whose values have the expected type."""
    return {
        key: value
        for key, value in log.items()
        if value is not None
        and key in ALLOWED_LOG_KEYS
        and _is_allowed_value(key, value)
    }


def _new_formatter() -> AllowlistFormatter:
    # One line per record, even where POWERTOOLS_DEV makes Powertools indent JSON.
    serializer = functools.partial(
        json.dumps, default=str, separators=(",", ":"), ensure_ascii=False
    )
    return AllowlistFormatter(json_serializer=serializer, utc=True, use_rfc3339=True)


def configure_warnings(handler: logging.Handler) -> None:
    """Send Python warnings through ``handler`` alone, as class-only records."""
    logging.captureWarnings(True)
    if getattr(warnings.showwarning, "__module__", None) != "logging":
        # Something replaced the hook after an earlier call (warnings.catch_warnings
        # restores the one it saw), and logging still counts itself installed.
        logging.captureWarnings(False)
        logging.captureWarnings(True)
    warnings_logger = logging.getLogger("py.warnings")
    if RECORD_FILTER not in warnings_logger.filters:
        warnings_logger.addFilter(RECORD_FILTER)
    for previous in list(warnings_logger.handlers):
        if previous is not handler:
            warnings_logger.removeHandler(previous)
    if handler not in warnings_logger.handlers:
        warnings_logger.addHandler(handler)
    warnings_logger.propagate = False


def get_logger(service: str | None = None) -> Logger:
    """Return the product's Powertools logger for ``service``, with every guard on.

    Loggers of one service share one handler, so calling this again is cheap.
    """
    install_record_factory()
    # Powertools' inject_lambda_context reads this; lambda_entry never calls it,
    # and the formatter would drop an event logged as a message anyway.
    os.environ["POWERTOOLS_LOGGER_LOG_EVENT"] = "false"
    name = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE
    _product_loggers.add(name)

    logger = Logger(
        service=name,
        logger_formatter=_new_formatter(),
    )
    if not isinstance(logger.registered_formatter, AllowlistFormatter):
        # A logger of this name was configured elsewhere before this call.
        logger.registered_handler.setFormatter(_new_formatter())
        logger.clear_state()
    logger._logger.propagate = False
    if RECORD_FILTER not in logger._logger.filters:
        logger._logger.addFilter(RECORD_FILTER)
    guard_root_handlers()
    configure_warnings(logger.registered_handler)
    return logger


class AllowlistMetrics(Metrics):
    """Powertools metrics limited to counts and durations on fixed dimensions.

    Metadata is rejected because EMF writes it into the log line.
    """

    def add_metric(
        self,
        name: str,
        unit: MetricUnit | str,
        value: float,
        resolution: Any = 60,
    ) -> None:
        if not _METRIC_NAME.match(name):
            raise ValueError("metric names are fixed CamelCase words")
        if MetricUnit(unit) not in ALLOWED_METRIC_UNITS:
            raise ValueError("metrics are counts or durations in milliseconds")
        super().add_metric(name=name, unit=unit, value=value, resolution=resolution)

    def add_dimension(self, name: str, value: str) -> None:
        _check_dimension(name, value)
        super().add_dimension(name=name, value=value)

    def add_dimensions(self, **dimensions: str) -> None:
        for name, value in dimensions.items():
            _check_dimension(name, value)
        super().add_dimensions(**dimensions)

    def set_default_dimensions(self, **dimensions: str) -> None:
        for name, value in dimensions.items():
            _check_dimension(name, value)
        super().set_default_dimensions(**dimensions)

    def add_metadata(self, key: str, value: Any) -> None:
        raise ValueError("metric metadata is written to the log and is not allowed")


def _check_dimension(name: str, value: str) -> None:
    if name not in ALLOWED_DIMENSIONS:
        raise ValueError(f"metric dimension {name!r} is not in ALLOWED_DIMENSIONS")
    allowed_values = ALLOWED_DIMENSIONS[name]
    if allowed_values is not None and value not in allowed_values:
        raise ValueError(f"metric dimension {name!r} takes only fixed values")
    if name == "route" and value not in {UNMATCHED_ROUTE, SCHEDULED_ROUTE}:
        if not _ROUTE_KEY.match(value):
            raise ValueError("the route dimension takes a route key")


class DeferredTracer:
    """A Powertools ``Tracer`` that is created only when tracing is enabled.

    Creating a ``Tracer`` imports the X-Ray SDK and botocore, which is a
    large part of a function's cold start. Outside Lambda, or with
    ``POWERTOOLS_TRACE_DISABLED`` set, tracing is off, so handlers are then
    returned unwrapped and the SDK is never imported.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._tracer: Tracer | None = None

    def tracer(self) -> Tracer:
        """Return the Powertools ``Tracer``, creating it on the first call."""
        if self._tracer is None:
            self._tracer = Tracer(**self._options)
        return self._tracer

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any],
        capture_response: bool = False,
        capture_error: bool = False,
    ) -> Callable[..., Any]:
        """Trace ``lambda_handler`` without recording its response or errors.

        Raises ``ValueError`` when either capture is requested, because
        responses and exception text can contain user input.
        """
        if capture_response is not False or capture_error is not False:
            raise ValueError("traces must not capture responses or errors")
        # Powertools' own rule (aws-lambda-powertools 3.37), read once here as
        # a Tracer reads it once when it is created.
        if Tracer._is_tracer_disabled():
            return lambda_handler
        return self.tracer().capture_lambda_handler(
            lambda_handler, capture_response=False, capture_error=False
        )


# The tracer patches botocore only, so X-Ray records AWS calls but no SQL. It is
# off outside Lambda. lambda_entry traces handlers with response and error
# capture off. The traced function raises no exception but
# ``InvocationFailed``, so X-Ray's own exception record has fixed text only.
tracer = DeferredTracer(patch_modules=["botocore"])
metrics = AllowlistMetrics(namespace=METRICS_NAMESPACE)


def log_exception(
    logger: Logger, error: BaseException, message: str, **keys: object
) -> None:
    """Log ``error`` at ERROR as its class and frames, with allowlisted ``keys``."""
    logger.error(message, extra={**exception_fields(error), **keys}, stacklevel=3)


def validation_log_fields(errors: Iterable[Mapping[str, Any]]) -> dict[str, object]:
    """Summarise validation errors for a log line: their number only.

    The locations are left out because a location can name a key the caller
    chose, such as an extra field or a mapping key. The response lists them.
    """
    return {"problems": sum(1 for _ in errors), "error_code": "invalid_request"}


def _module_resolver(handler: Callable[..., Any]) -> Any:
    for value in getattr(handler, "__globals__", {}).values():
        if isinstance(value, ApiGatewayResolver):
            return value
    return None


def _registered_route_keys(resolver: Any) -> frozenset[str]:
    routes = [*resolver._static_routes, *resolver._dynamic_routes]
    return frozenset(route_key_of(route.method, route.path) for route in routes)


def route_key_of(method: str, path: str) -> str:
    """Return the API Gateway route key of a Powertools route (``<id>`` -> ``{id}``)."""
    template = re.sub(r"<(\w+)>", r"{\1}", path)
    return f"{method.upper()} {template}"


def is_api_event(event: object) -> bool:
    """Tell an API Gateway proxy event (HTTP API or REST) from other triggers."""
    if not isinstance(event, Mapping):
        return False
    return "requestContext" in event and ("routeKey" in event or "httpMethod" in event)


def event_route(event: Mapping[str, Any], known: frozenset[str]) -> str:
    """Return the event's route template, or ``unmatched``; never its raw path."""
    route = event.get("routeKey")
    if route is None and "httpMethod" in event:
        route = f"{event.get('httpMethod')} {event.get('resource')}"
    if not isinstance(route, str) or not _ROUTE_KEY.match(route):
        return UNMATCHED_ROUTE
    if route not in known:
        return UNMATCHED_ROUTE
    return route


def _request_id(event: Mapping[str, Any], context: Any) -> str | None:
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping):
        value = request_context.get("requestId")
        if isinstance(value, str) and len(value) <= _MAX_TEXT_VALUE:
            return value
    value = event.get("id")
    if isinstance(value, str) and len(value) <= _MAX_TEXT_VALUE:
        return value
    return getattr(context, "aws_request_id", None)


def internal_error_response(request_id: str | None) -> dict[str, Any]:
    """Build the API Gateway response for an unhandled error: a 500 with the id."""
    error: dict[str, object] = {
        "code": "internal_error",
        "message": "The request failed. Quote the request id when you report it.",
    }
    if request_id:
        error["request_id"] = request_id
    return {
        "statusCode": 500,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": error}),
        "isBase64Encoded": False,
    }


def _status_class(status: int | None, failed: bool) -> str:
    if failed:
        return "5xx"
    if status is None:
        return "2xx"
    if not 200 <= status <= 599:
        return "5xx"
    return f"{status // 100}xx"


def _publish_metrics(logger: Logger, route: str, status_class: str, ms: float) -> None:
    try:
        metrics.add_dimension("route", route)
        metrics.add_dimension("status_class", status_class)
        metrics.add_metric("Invocations", MetricUnit.Count, 1)
        metrics.add_metric("Duration", MetricUnit.Milliseconds, ms)
        metrics.flush_metrics()
    except Exception as error:  # noqa: BLE001 - metrics must never fail a request
        log_exception(logger, error, "Publishing metrics failed", route=route)
    finally:
        # A disabled flush (POWERTOOLS_METRICS_DISABLED or POWERTOOLS_DEV) keeps
        # the set, so the next invocation would inherit these dimensions.
        metrics.clear_metrics()


_cold_start = True


def _reset_keys(logger: Logger, event: object, context: Any) -> None:
    global _cold_start
    logger.clear_state()
    logger.thread_safe_clear_keys()
    logger.append_keys(
        cold_start=_cold_start,
        function_name=getattr(context, "function_name", None),
        function_request_id=getattr(context, "aws_request_id", None),
    )
    _cold_start = False
    if isinstance(event, Mapping):
        logger.set_correlation_id(_request_id(event, context))


def lambda_entry(
    logger: Logger, *, resolver: Any = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a ``lambda_handler`` with the product's logging, tracing and metrics.

    Each invocation starts with cleared keys and ends with one "Request
    completed" line holding route, status and duration. An unhandled exception
    is logged as class and frames. For API events the caller then gets a 500
    with the request id. Other events (the backup schedule) raise
    ``InvocationFailed`` without the original cause, so the runtime's error
    output contains no message. The trigger still receives an error and retries.
    Only the route keys that ``resolver`` registers are logged, because a local
    runtime may fill ``routeKey`` from the raw path. ``resolver`` defaults to
    the Powertools resolver in the handler's module; without one, API events
    are logged as route ``unmatched``.
    """

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        known_routes: list[frozenset[str]] = []

        def known() -> frozenset[str]:
            if not known_routes:
                found = resolver or _module_resolver(handler)
                keys = _registered_route_keys(found) if found else frozenset()
                known_routes.append(keys)
            return known_routes[0]

        @functools.wraps(handler)
        def guarded(event: Any, context: Any) -> Any:
            started = time.perf_counter()
            _reset_keys(logger, event, context)
            # The local run loads several functions into one process, so each
            # invocation sends warnings to its own function's handler.
            configure_warnings(logger.registered_handler)
            api = is_api_event(event)
            route = event_route(event, known()) if api else SCHEDULED_ROUTE
            failure: Exception | None = None
            try:
                response = handler(event, context)
            except Exception as error:  # noqa: BLE001 - every error must be contained
                failure = error
                log_exception(logger, error, "Unhandled error", route=route)
                response = internal_error_response(_request_id(event, context))

            status = response.get("statusCode") if isinstance(response, dict) else None
            if not isinstance(status, int) or isinstance(status, bool):
                status = 500 if failure is not None else None
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            logger.info(
                "Request completed",
                extra={"route": route, "status": status, "duration_ms": duration_ms},
            )
            status_class = _status_class(status, failure is not None)
            _publish_metrics(logger, route, status_class, duration_ms)

            if failure is not None and not api:
                raise InvocationFailed() from None
            return response

        traced = tracer.capture_lambda_handler(
            guarded, capture_response=False, capture_error=False
        )

        @functools.wraps(handler)
        def entry(event: Any, context: Any) -> Any:
            return traced(event, context)

        entry.privacy_guarded = True  # type: ignore[attr-defined]
        return entry

    return decorate


instrument_handler = lambda_entry
