"""Capture everything a handler writes: stdout, stderr, every log handler, warnings.

``capture_output`` points the stream of every ``StreamHandler`` on every
logger (Powertools' handlers included) at one buffer, and replaces
``sys.stdout`` and ``sys.stderr`` with it. It also adds a handler on the root
logger and on every product logger that writes each record in full (message,
arguments, exception text and extra attributes), as the Lambda runtime's own
root handler would.
Warnings are shown through ``logging`` as the product configures them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator

from nature_risk import observability

_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime"}


class _FullRecordHandler(logging.Handler):
    """Write each record in full: message with arguments, exception text, extras."""

    def __init__(self, stream: io.StringIO) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, record.levelname, record.getMessage()]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            parts.append(record.stack_info)
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRIBUTES
        }
        parts.append(repr(extras))
        self.stream.write(" ".join(str(part) for part in parts) + "\n")


def _all_loggers() -> list[logging.Logger]:
    loggers = [logging.getLogger()]
    for candidate in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(candidate, logging.Logger):
            loggers.append(candidate)
    return loggers


def _is_pytest_handler(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("_pytest")


@contextlib.contextmanager
def capture_output() -> Iterator[io.StringIO]:
    """Collect into one buffer all output written inside the block."""
    buffer = io.StringIO()
    swapped: list[tuple[logging.StreamHandler, object]] = []
    added: list[tuple[logging.Logger, logging.Handler]] = []
    full_records = _FullRecordHandler(buffer)

    for logger in _all_loggers():
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not _is_pytest_handler(
                handler
            ):
                # Assigned, not setStream(), because setStream flushes the old
                # stream, which may be a capture file pytest has since closed.
                swapped.append((handler, handler.stream))
                handler.stream = buffer
        is_root = logger is logging.getLogger()
        if is_root or observability._is_product_logger(logger.name):
            logger.addHandler(full_records)
            added.append((logger, full_records))
    # get_logger filters the root handlers present when a function starts (the
    # Lambda runtime's among them), so the full-record handler is filtered too.
    observability.guard_root_handlers()

    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
        ):
            warnings.simplefilter("always")
            logging.captureWarnings(False)
            logging.captureWarnings(True)
            yield buffer
    finally:
        for handler, stream in swapped:
            handler.stream = stream
        for logger, handler in added:
            logger.removeHandler(handler)
