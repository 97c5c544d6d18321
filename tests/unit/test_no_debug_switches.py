"""Nothing in the product turns on event logging, tracer capture or debug mode.

The static checks read every module of the functions and the layer. The
runtime checks load each API function with the Powertools switches set in the
environment and show they have no effect.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from nature_risk import observability
from nature_risk.observability import ALLOWED_LOG_KEYS

from tests.canary.cases import API_CASES, DATABASE_FUNCTIONS
from tests.canary.markers import Markers, find_leaks, leak_report
from tests.canary.runner import build_event, invoke
from tests.functions import FUNCTIONS_DIR, load_function

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCT_SOURCES = sorted(
    [
        *FUNCTIONS_DIR.rglob("*.py"),
        *(REPO_ROOT / "layers" / "common" / "nature_risk").rglob("*.py"),
    ]
)
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}
FORBIDDEN_TRUE_KEYWORDS = {"log_event", "capture_response", "capture_error", "debug"}
FORBIDDEN_CALLS = {"inject_lambda_context", "put_metadata", "print", "pprint"}
DEBUG_VARIABLES = {
    "POWERTOOLS_DEV",
    "POWERTOOLS_DEBUG",
    "POWERTOOLS_LOGGER_LOG_EVENT",
    "POWERTOOLS_EVENT_HANDLER_DEBUG",
}
API_FUNCTIONS = sorted(API_CASES)


def call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


def is_logger_call(node: ast.Call) -> bool:
    """Tell a call like ``logger.info(...)`` or ``log.error(...)`` from others."""
    if not isinstance(node.func, ast.Attribute) or node.func.attr not in LOG_METHODS:
        return False
    target = node.func.value
    name = target.attr if isinstance(target, ast.Attribute) else None
    if isinstance(target, ast.Name):
        name = target.id
    return name is not None and ("log" in name.lower())


def product_calls() -> list[tuple[Path, ast.Call]]:
    calls = []
    for path in PRODUCT_SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        calls.extend(
            (path, node) for node in ast.walk(tree) if isinstance(node, ast.Call)
        )
    return calls


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(REPO_ROOT)}:{node.lineno}"


def test_product_sources_found():
    assert any(path.name == "observability.py" for path in PRODUCT_SOURCES)
    assert any(path.name == "app.py" for path in PRODUCT_SOURCES)


def test_no_switch_turned_on_in_code():
    offenders = []
    for path, node in product_calls():
        for keyword in node.keywords:
            if keyword.arg in FORBIDDEN_TRUE_KEYWORDS:
                value = keyword.value
                if not (isinstance(value, ast.Constant) and value.value is False):
                    offenders.append(f"{where(path, node)} {keyword.arg}=")
    assert not offenders, offenders


def test_no_forbidden_calls():
    offenders = [
        f"{where(path, node)} {call_name(node)}()"
        for path, node in product_calls()
        if call_name(node) in FORBIDDEN_CALLS
    ]
    assert not offenders, offenders


def test_log_messages_are_fixed_strings():
    offenders = []
    for path, node in product_calls():
        if not is_logger_call(node):
            continue
        message = node.args[0] if node.args else None
        is_literal = isinstance(message, ast.Constant) and isinstance(
            message.value, str
        )
        # Logging helpers forward the fixed message their callers pass.
        is_forwarded = isinstance(message, ast.Name) and message.id == "message"
        if not (is_literal or is_forwarded) or len(node.args) > 1:
            offenders.append(where(path, node))
    assert not offenders, f"log calls with a built message or arguments: {offenders}"


def test_log_extra_keys_allowlisted():
    offenders = []
    for path, node in product_calls():
        if not is_logger_call(node) and call_name(node) != "append_keys":
            continue
        keys = [keyword.arg for keyword in node.keywords if keyword.arg]
        for keyword in node.keywords:
            if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
                keys += [
                    key.value
                    for key in keyword.value.keys
                    if isinstance(key, ast.Constant)
                ]
        allowed = ALLOWED_LOG_KEYS | {"extra", "exc_info", "stacklevel"}
        offenders += [
            f"{where(path, node)} {key}" for key in keys if key not in allowed
        ]
    assert not offenders, offenders


def is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and str(node.value).lower() in {
        "false",
        "0",
    }


def test_no_debug_variable_set_in_code():
    offenders = []
    for path in PRODUCT_SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                targets = [ast.unparse(target) for target in node.targets]
                value = node.value
            elif isinstance(node, ast.Call) and call_name(node) in {
                "setdefault",
                "putenv",
                "setenv",
            }:
                targets = [ast.unparse(node)]
                value = node.args[1] if len(node.args) > 1 else None
            else:
                continue
            for variable in DEBUG_VARIABLES:
                named = any(variable in target for target in targets)
                if named and not is_false(value):
                    offenders.append(f"{where(path, node)} {variable}")
    assert not offenders, offenders


@pytest.fixture
def switches_on(monkeypatch, encore_dir, biodiversity_dir):
    for variable in DEBUG_VARIABLES:
        monkeypatch.setenv(variable, "true")
    monkeypatch.setenv("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "true")
    monkeypatch.setenv("POWERTOOLS_TRACER_CAPTURE_ERROR", "true")
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_resolver_debug_off_with_dev_env(function, switches_on):
    module = load_function(function, fresh=True)
    resolvers = [
        value
        for value in vars(module).values()
        if isinstance(value, ApiGatewayResolver)
    ]
    assert resolvers
    assert all(resolver._debug is False for resolver in resolvers)


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_tracer_capture_off_with_env(function, switches_on, monkeypatch):
    seen = []
    original = observability.tracer.capture_lambda_handler

    def spy(handler=None, capture_response=None, capture_error=None):
        seen.append((capture_response, capture_error))
        return original(
            handler, capture_response=capture_response, capture_error=capture_error
        )

    monkeypatch.setattr(observability.tracer, "capture_lambda_handler", spy)
    load_function(function, fresh=True)
    assert seen == [(False, False)]


@pytest.mark.parametrize(
    "function", [name for name in API_FUNCTIONS if name not in DATABASE_FUNCTIONS]
)
def test_switches_on_leak_nothing(function, switches_on, capfd):
    module = load_function(function, fresh=True)
    for case in API_CASES[function]:
        if case.patch is not None:
            continue
        markers = Markers()
        event = build_event(case, markers)
        event["body"] = markers.new()
        outcome = invoke(module, event, function)
        descriptors = capfd.readouterr()
        text = outcome.output + descriptors.out + descriptors.err
        leaks = find_leaks(text, markers.issued)
        assert not leaks, f"{case.id}: {leak_report(text, leaks)}"


class MemoryEmitter:
    """An X-Ray emitter that keeps each finished segment's JSON in memory."""

    def __init__(self) -> None:
        self.documents: list[str] = []

    def send_entity(self, entity) -> None:
        self.documents.append(entity.serialize())

    def set_daemon_address(self, address) -> None:
        pass


@pytest.fixture
def xray_traces(switches_on, monkeypatch):
    """Turn tracing on with an in-memory emitter; reload the functions after."""
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core import xray_recorder

    original_tracer = observability.tracer
    original_emitter = xray_recorder._emitter
    emitter = MemoryEmitter()
    Tracer._reset_config()
    # auto_patch=False: patching every library would outlive the test.
    tracer = Tracer(disabled=False, auto_patch=False)
    global_sdk_config.set_sdk_enabled(True)
    xray_recorder.configure(
        emitter=emitter, sampling=False, context_missing="LOG_ERROR"
    )
    monkeypatch.setattr(observability, "tracer", tracer)
    try:
        yield emitter
    finally:
        global_sdk_config.set_sdk_enabled(False)
        xray_recorder.configure(emitter=original_emitter)
        Tracer._reset_config()
        observability.tracer = original_tracer
        for function in API_FUNCTIONS:
            load_function(function, fresh=True)


def test_traces_hold_no_input(xray_traces, monkeypatch, capfd):
    from aws_xray_sdk.core import xray_recorder

    module = load_function("dashboard", fresh=True)
    markers = Markers()
    for case in API_CASES["dashboard"]:
        with monkeypatch.context() as patches:
            if case.patch is not None:
                case.patch(patches, markers, module)
            event = build_event(case, markers)
            xray_recorder.begin_segment("canary")
            try:
                invoke(module, event, "dashboard")
            finally:
                xray_recorder.end_segment()
        capfd.readouterr()

    traces = "\n".join(xray_traces.documents)
    assert "## lambda_handler" in traces
    leaks = find_leaks(traces, markers.issued)
    assert not leaks, leak_report(traces, leaks)


def test_trace_of_failed_schedule_has_fixed_text(xray_traces, capfd):
    from aws_xray_sdk.core import xray_recorder

    markers = Markers()
    logger = observability.get_logger("trace-test")

    @observability.lambda_entry(logger)
    def handler(event, context):
        raise ValueError(markers.new())

    xray_recorder.begin_segment("canary")
    try:
        with pytest.raises(observability.InvocationFailed):
            handler({"id": "event-1"}, None)
    finally:
        xray_recorder.end_segment()
    capfd.readouterr()

    traces = "\n".join(xray_traces.documents)
    assert "InvocationFailed" in traces
    leaks = find_leaks(traces, markers.issued)
    assert not leaks, leak_report(traces, leaks)
