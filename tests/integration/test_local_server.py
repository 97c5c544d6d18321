"""The local API server over real HTTP on 127.0.0.1 with a free port."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import struct
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from infra.local import server as local_server
from infra.local.cors import CorsConfiguration, load_cors_configuration
from infra.local.run import (
    EXAMPLE_PORTFOLIO,
    build_routes,
    example_curl,
    local_cors_configuration,
)
from infra.local.server import AuthorizationFailed, LocalApiServer, RouteTable
from tests.events import multipart_body


def _echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = {"event": event, "function_name": context.function_name}
    payload["remaining_ms"] = context.get_remaining_time_in_millis()
    payload["request_id"] = context.aws_request_id
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(payload),
    }


def _binary(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/octet-stream"},
        "cookies": ["first=1; Path=/", "second=2; Path=/"],
        "body": base64.b64encode(b"\x00\x01binary").decode("ascii"),
        "isBase64Encoded": True,
    }


def _crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("secret-value-in-exception")


def _bearer_authorizer(headers: Mapping[str, str]) -> Mapping[str, Any]:
    if headers.get("authorization") != "Bearer good-token":
        raise AuthorizationFailed
    return {"sub": "user-1", "scope": "portfolios"}


@pytest.fixture(scope="module")
def echo_server() -> Iterator[LocalApiServer]:
    routes = RouteTable()
    routes.add("GET /items/{item_id}", _echo, function_name="items")
    routes.add("GET /items/latest", _binary, function_name="items")
    routes.add("ANY /echo", _echo, function_name="echo")
    routes.add("GET /files/{path+}", _echo, function_name="files")
    routes.add("GET /crash", _crash, function_name="crash")
    routes.add(
        "GET /private", _echo, function_name="private", authorizer=_bearer_authorizer
    )
    server = LocalApiServer(routes, port=0, quiet=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dashboard_server(
    encore_dir: Path, biodiversity_dir: Path
) -> Iterator[LocalApiServer]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCORE_KB_DIR", str(encore_dir))
        patch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
        server = LocalApiServer(build_routes(), port=0, quiet=True)
        server.start()
        yield server
        server.stop()


def _request(
    server: LocalApiServer,
    method: str,
    target: str,
    *,
    body: bytes | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    try:
        connection.putrequest(method, target)
        for name, value in headers or []:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def _echoed(server: LocalApiServer, method: str, target: str, **kwargs: Any) -> dict:
    status, _, payload = _request(server, method, target, **kwargs)
    assert status == 200
    return json.loads(payload)


def test_server_binds_loopback_only(echo_server: LocalApiServer) -> None:
    assert echo_server.server_address[0] == "127.0.0.1"
    assert echo_server.url.startswith("http://127.0.0.1:")


def test_event_is_payload_v2(echo_server: LocalApiServer) -> None:
    echoed = _echoed(
        echo_server, "GET", "/items/abc-1?b=2", headers=[("User-Agent", "probe/1")]
    )
    event = echoed["event"]

    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{item_id}"
    assert event["rawPath"] == "/items/abc-1"
    assert event["rawQueryString"] == "b=2"
    assert event["pathParameters"] == {"item_id": "abc-1"}
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["routeKey"] == "GET /items/{item_id}"
    assert context["stage"] == "$default"
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/items/abc-1"
    assert context["http"]["protocol"] == "HTTP/1.1"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["http"]["userAgent"] == "probe/1"
    assert context["domainName"] == f"127.0.0.1:{echo_server.server_port}"
    assert context["accountId"].isdigit()
    assert context["apiId"]
    assert context["requestId"]
    assert isinstance(context["timeEpoch"], int)
    assert context["time"]
    assert echoed["function_name"] == "items"
    assert echoed["remaining_ms"] > 0
    assert echoed["request_id"]


def test_headers_lowercased_and_joined(echo_server: LocalApiServer) -> None:
    event = _echoed(
        echo_server,
        "GET",
        "/echo",
        headers=[("X-Tag", "one"), ("X-Tag", "two"), ("Cookie", "a=1; b=2")],
    )["event"]

    assert event["headers"]["x-tag"] == "one,two"
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert "X-Tag" not in event["headers"]


def test_query_parameters_joined(echo_server: LocalApiServer) -> None:
    event = _echoed(echo_server, "GET", "/echo?code=A&code=B&q=water%20use&empty=")[
        "event"
    ]

    assert event["queryStringParameters"] == {
        "code": "A,B",
        "q": "water use",
        "empty": "",
    }
    assert event["rawQueryString"] == "code=A&code=B&q=water%20use&empty="


def test_literal_route_beats_template(echo_server: LocalApiServer) -> None:
    status, headers, payload = _request(echo_server, "GET", "/items/latest")

    assert status == 201
    assert payload == b"\x00\x01binary"
    assert headers.get_all("set-cookie") == ["first=1; Path=/", "second=2; Path=/"]
    assert headers["content-type"] == "application/octet-stream"


def test_greedy_path_parameter(echo_server: LocalApiServer) -> None:
    event = _echoed(echo_server, "GET", "/files/a/b/c.csv")["event"]

    assert event["routeKey"] == "GET /files/{path+}"
    assert event["pathParameters"] == {"path": "a/b/c.csv"}


def test_json_body_arrives_as_text(echo_server: LocalApiServer) -> None:
    body = json.dumps({"holdings": [{"code": "A"}]}).encode()
    event = _echoed(
        echo_server,
        "POST",
        "/echo",
        body=body,
        headers=[("Content-Type", "application/json")],
    )["event"]

    assert event["isBase64Encoded"] is False
    assert event["body"] == body.decode()
    assert event["routeKey"] == "ANY /echo"


def test_csv_body_arrives_as_text(echo_server: LocalApiServer) -> None:
    body = b"activity_code,exposure\nA_01_011_0111,10\n"
    event = _echoed(
        echo_server, "POST", "/echo", body=body, headers=[("Content-Type", "text/csv")]
    )["event"]

    assert event["isBase64Encoded"] is False
    assert event["body"] == body.decode()


def test_multipart_body_arrives_base64(echo_server: LocalApiServer) -> None:
    body, content_type = multipart_body({"file": ("p.csv", b"a,b\n1,2\n", "text/csv")})
    event = _echoed(
        echo_server,
        "POST",
        "/echo",
        body=body,
        headers=[("Content-Type", content_type)],
    )["event"]

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_invalid_utf8_text_arrives_base64(echo_server: LocalApiServer) -> None:
    body = b"name\n\xff\xfe\n"
    event = _echoed(
        echo_server, "POST", "/echo", body=body, headers=[("Content-Type", "text/csv")]
    )["event"]

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_unknown_route_is_404(echo_server: LocalApiServer) -> None:
    status, _, payload = _request(echo_server, "GET", "/nowhere")

    assert status == 404
    assert json.loads(payload) == {"message": "Not Found"}


def test_method_must_match(echo_server: LocalApiServer) -> None:
    status, _, _ = _request(echo_server, "DELETE", "/items/abc")

    assert status == 404


def test_head_is_404(echo_server: LocalApiServer) -> None:
    status, _, _ = _request(echo_server, "HEAD", "/items/abc")

    assert status == 404


def test_chunked_body_is_411(echo_server: LocalApiServer) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

    response = _exchange_raw(echo_server, head + b"5\r\nhello\r\n0\r\n\r\n")

    assert response.startswith(b"HTTP/1.1 411 Length Required\r\n")


def test_handler_crash_is_gateway_500(echo_server: LocalApiServer) -> None:
    status, _, payload = _request(echo_server, "GET", "/crash")

    assert status == 500
    assert json.loads(payload) == {"message": "Internal Server Error"}


def test_authorizer_rejects_without_token(echo_server: LocalApiServer) -> None:
    status, _, payload = _request(echo_server, "GET", "/private")

    assert status == 401
    assert json.loads(payload) == {"message": "Unauthorized"}


def test_authorizer_claims_reach_event(echo_server: LocalApiServer) -> None:
    event = _echoed(
        echo_server,
        "GET",
        "/private",
        headers=[("Authorization", "Bearer good-token")],
    )["event"]

    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["jwt"]["claims"] == {"sub": "user-1", "scope": "portfolios"}


def test_oversized_body_is_413(
    echo_server: LocalApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_server, "MAX_REQUEST_BYTES", 16)
    status, _, payload = _request(echo_server, "POST", "/echo", body=b"x" * 17)

    assert status == 413
    assert json.loads(payload) == {"message": "Request Entity Too Large"}


def test_access_log_omits_request_values(capsys: pytest.CaptureFixture[str]) -> None:
    routes = RouteTable()
    routes.add("POST /echo", _echo, function_name="echo")
    routes.add("GET /crash", _crash, function_name="crash")
    server = LocalApiServer(routes, port=0)
    server.start()
    try:
        _request(
            server,
            "POST",
            "/echo?secret-query=secret-q-value",
            body=b"secret-body-value",
            headers=[("X-Secret", "secret-header-value"), ("Content-Type", "text/csv")],
        )
        _request(server, "GET", "/crash")
    finally:
        server.stop()
    output = capsys.readouterr()
    logged = output.out + output.err

    assert "POST /echo 200" in logged
    assert "GET /crash 500" in logged
    assert "RuntimeError" in logged
    for secret in ("secret-q-value", "secret-body-value", "secret-header-value"):
        assert secret not in logged
    assert "secret-value-in-exception" not in logged


def test_access_log_omits_client_method(
    capsys: pytest.CaptureFixture[str],
) -> None:
    routes = RouteTable()
    routes.add("GET /echo", _echo, function_name="echo")
    server = LocalApiServer(routes, port=0)
    server.start()
    try:
        unknown_method = _request(server, "ZQXMETHODMARK", "/echo")[0]
        unknown_path = _request(server, "GET", "/zqx-path-mark?zqx-query-mark=1")[0]
        bad_length = _request(
            server, "GET", "/zqx-length-mark", headers=[("Content-Length", "zqx")]
        )[0]
    finally:
        server.stop()
    output = capsys.readouterr()
    logged = output.out + output.err

    assert unknown_method == 404
    assert unknown_path == 404
    assert bad_length == 400
    assert logged.count(f"{local_server.UNROUTED} 404") == 2
    assert f"{local_server.UNROUTED} 400" in logged
    assert "ZQX" not in logged.upper()


def test_warnings_carry_own_service(capsys: pytest.CaptureFixture[str]) -> None:
    # The local run loads every function into one process; the function
    # loaded last must not take over the others' warnings.
    import warnings

    from nature_risk.observability import get_logger, lambda_entry

    def warning_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        warnings.warn("overflow in a test", RuntimeWarning, stacklevel=1)
        return {"statusCode": 204, "body": ""}

    first = lambda_entry(get_logger("local-first"))(warning_handler)
    second = lambda_entry(get_logger("local-second"))(warning_handler)
    routes = RouteTable()
    routes.add("GET /first", first, function_name="first")
    routes.add("GET /second", second, function_name="second")
    server = LocalApiServer(routes, port=0, quiet=True)
    server.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            statuses = [
                _request(server, "GET", "/first")[0],
                _request(server, "GET", "/second")[0],
                _request(server, "GET", "/first")[0],
            ]
    finally:
        server.stop()
    records = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"Warning raised"' in line
    ]

    assert statuses == [204, 204, 204]
    assert [record["service"] for record in records] == [
        "local-first",
        "local-second",
        "local-first",
    ]


def test_dashboard_health_over_http(dashboard_server: LocalApiServer) -> None:
    status, headers, payload = _request(dashboard_server, "GET", "/health")

    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert json.loads(payload) == {"status": "ok"}


def test_dashboard_serves_openapi(dashboard_server: LocalApiServer) -> None:
    status, _, payload = _request(dashboard_server, "GET", "/openapi.json")
    document = json.loads(payload)

    assert status == 200
    assert document["openapi"].startswith("3.1")
    assert "/health" in document["paths"]


def test_dashboard_serves_swagger_ui(dashboard_server: LocalApiServer) -> None:
    status, headers, payload = _request(dashboard_server, "GET", "/swagger")

    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"SwaggerUIBundle" in payload


def test_example_curl_posts_csv() -> None:
    command = example_curl("http://127.0.0.1:3000")

    assert "http://127.0.0.1:3000/dashboards/natural-capital" in command
    assert "Content-Type: text/csv" in command
    assert "--data-binary @examples/portfolio.csv" in command


def test_path_parameter_is_decoded(echo_server: LocalApiServer) -> None:
    event = _echoed(echo_server, "GET", "/items/a%20b%2Fc")["event"]

    assert event["pathParameters"] == {"item_id": "a b/c"}
    assert event["rawPath"] == "/items/a%20b%2Fc"


def test_example_portfolio_over_http(dashboard_server: LocalApiServer) -> None:
    csv_bytes = EXAMPLE_PORTFOLIO.read_bytes()
    status, headers, payload = _request(
        dashboard_server,
        "POST",
        "/dashboards/natural-capital",
        body=csv_bytes,
        headers=[("Content-Type", "text/csv")],
    )
    dashboard = json.loads(payload)

    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert dashboard["totals"]["holdings"] == len(csv_bytes.splitlines()) - 1
    assert len(dashboard["dependencies"]) == 25


def test_browser_upload_over_http(dashboard_server: LocalApiServer) -> None:
    body, content_type = multipart_body(
        {"file": ("portfolio.csv", EXAMPLE_PORTFOLIO.read_bytes(), "text/csv")},
        {"options": '{"exclude_water_supply": true}'},
    )
    status, _, payload = _request(
        dashboard_server,
        "POST",
        "/dashboards/natural-capital?exclude_water_supply=true",
        body=body,
        headers=[("Content-Type", content_type)],
    )
    dashboard = json.loads(payload)

    assert status == 200
    assert dashboard["options"]["exclude_water_supply"] is True
    assert len(dashboard["dependencies"]) == 24


def test_template_download_over_http(dashboard_server: LocalApiServer) -> None:
    status, headers, payload = _request(
        dashboard_server, "GET", "/templates/natural-capital.csv"
    )

    assert status == 200
    assert headers["content-type"].startswith("text/csv")
    assert "attachment" in headers["content-disposition"]
    assert payload.decode("utf-8-sig").startswith("name,code,amount")


def test_reference_search_over_http(dashboard_server: LocalApiServer) -> None:
    status, _, payload = _request(
        dashboard_server, "GET", "/reference/economic-activities?q=rice&limit=5"
    )
    page = json.loads(payload)

    assert status == 200
    assert page["limit"] == 5
    assert page["total"] >= 1


def test_oversized_body_closes_connection(
    echo_server: LocalApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_server, "MAX_REQUEST_BYTES", 16)
    connection = http.client.HTTPConnection(
        "127.0.0.1", echo_server.server_port, timeout=30
    )
    try:
        connection.request("POST", "/echo", body=b"GET /crash HTTP/1.1\r\n\r\n" * 4)
        response = connection.getresponse()
        response.read()

        assert response.status == 413
        assert response.headers["connection"] == "close"
    finally:
        connection.close()


def test_large_upload_with_expect_continue(
    dashboard_server: LocalApiServer,
) -> None:
    rows = "".join(f"Holding {index},0111,{index + 1}\n" for index in range(60_000))
    body = ("name,code,amount\n" + rows).encode()
    status, _, payload = _request(
        dashboard_server,
        "POST",
        "/dashboards/natural-capital",
        body=body,
        headers=[("Content-Type", "text/csv"), ("Expect", "100-continue")],
    )

    assert len(body) > 1024 * 1024
    assert status == 200
    assert json.loads(payload)["totals"]["holdings"] == 60_000


def _exchange_raw(server: LocalApiServer, data: bytes) -> bytes:
    """Send raw bytes, close the sending side, and read until the server closes."""
    address = ("127.0.0.1", server.server_port)
    with socket.create_connection(address, timeout=30) as client:
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_truncated_body_is_400(echo_server: LocalApiServer) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"

    response = _exchange_raw(echo_server, head + b"code,amount\n0111,1\n")
    status_line, _, rest = response.partition(b"\r\n")
    headers, _, payload = rest.partition(b"\r\n\r\n")

    assert status_line == b"HTTP/1.1 400 Bad Request"
    assert b"connection: close" in headers.lower()
    assert json.loads(payload) == {"message": "Bad Request"}


def test_differing_content_lengths_are_400(echo_server: LocalApiServer) -> None:
    head = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Content-Length: 19\r\n\r\n"
    )

    response = _exchange_raw(echo_server, head + b"code,amount\n0111,1\n")
    status_line, _, rest = response.partition(b"\r\n")

    assert status_line == b"HTTP/1.1 400 Bad Request"
    # One response only: the rest of the body is not read as a request.
    assert rest.count(b"HTTP/1.1") == 0


def test_parallel_bodies_wait_for_slots() -> None:
    routes = RouteTable()
    routes.add("ANY /echo", _echo, function_name="echo")
    server = LocalApiServer(routes, port=0, quiet=True)
    server.start()
    # Every slot is taken, so a new request waits before its body is read.
    for _ in range(server.max_bodies):
        server.body_slots.acquire()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port)) as client:
            client.settimeout(0.5)
            client.sendall(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
            )
            with pytest.raises(TimeoutError):
                client.recv(1)
            server.body_slots.release()
            client.settimeout(30)
            status_line = client.makefile("rb").readline()
    finally:
        for _ in range(server.max_bodies - 1):
            server.body_slots.release()
        server.stop()

    assert status_line.startswith(b"HTTP/1.1 200")


def test_stalled_body_is_408() -> None:
    routes = RouteTable()
    routes.add("ANY /echo", _echo, function_name="echo")
    server = LocalApiServer(routes, port=0, quiet=True)
    server.read_timeout = 0.5
    server.start()
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    try:
        # The client sends part of the body and waits, its side still open.
        with socket.create_connection(("127.0.0.1", server.server_port)) as client:
            client.settimeout(30)
            client.sendall(head + b"code,amount\n")
            response = client.makefile("rb").read()
    finally:
        server.stop()

    status_line, _, rest = response.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    assert json.loads(rest.partition(b"\r\n\r\n")[2]) == {"message": "Request Timeout"}


# More connections than socketserver's default listen backlog of 5.
PARALLEL_CLIENTS = 32


def test_parallel_connections_all_served() -> None:
    routes = RouteTable()
    routes.add("GET /items/{item_id}", _echo, function_name="items")
    # The server listens from here on but accepts nothing before start(), so
    # every connection waits in the listen backlog.
    server = LocalApiServer(routes, port=0, quiet=True)
    address = ("127.0.0.1", server.server_port)
    clients: list[socket.socket] = []
    try:
        try:
            for _ in range(PARALLEL_CLIENTS):
                clients.append(socket.create_connection(address, timeout=2))
        finally:
            # stop() waits for the serving thread, so it must have started.
            server.start()
        for index, client in enumerate(clients):
            client.settimeout(30)
            client.sendall(
                f"GET /items/{index} HTTP/1.1\r\nHost: x\r\n"
                "Connection: close\r\n\r\n".encode()
            )
        status_lines = [client.makefile("rb").readline().rstrip() for client in clients]
    finally:
        for client in clients:
            client.close()
        server.stop()

    assert status_lines == [b"HTTP/1.1 200 OK"] * PARALLEL_CLIENTS


def test_events_match_powertools_model(echo_server: LocalApiServer) -> None:
    from aws_lambda_powertools.utilities.parser.models import (
        APIGatewayProxyEventV2Model,
    )

    body, content_type = multipart_body(
        {"file": ("p.csv", b"code\n0111\n", "text/csv")}
    )
    event = _echoed(
        echo_server,
        "POST",
        "/echo?a=1&a=2",
        body=body,
        headers=[("Content-Type", content_type), ("Cookie", "c=1")],
    )["event"]
    private = _echoed(
        echo_server,
        "GET",
        "/private",
        headers=[("Authorization", "Bearer good-token")],
    )["event"]

    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    assert parsed.requestContext.http.method == "POST"
    assert parsed.isBase64Encoded is True
    assert parsed.queryStringParameters == {"a": "1,2"}
    parsed_private = APIGatewayProxyEventV2Model.model_validate(private)
    assert parsed_private.requestContext.authorizer.jwt.claims["sub"] == "user-1"


# CORS ------------------------------------------------------------------------

WEB_CLIENT = "http://localhost:5173"
CORS = CorsConfiguration(
    allow_origins=(WEB_CLIENT,),
    allow_methods=("GET", "POST", "PUT", "DELETE", "OPTIONS"),
    allow_headers=("authorization", "content-type", "if-match"),
    expose_headers=("etag", "location"),
    max_age=600,
)


def _cors_echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response = _echo(event, context)
    # API Gateway ignores CORS headers that the function returns.
    response["headers"]["access-control-allow-origin"] = "https://other.example"
    return response


@pytest.fixture(scope="module")
def cors_server() -> Iterator[LocalApiServer]:
    routes = RouteTable()
    routes.add("GET /items/{item_id}", _cors_echo, function_name="items")
    routes.add(
        "GET /private", _echo, function_name="private", authorizer=_bearer_authorizer
    )
    routes.add("ANY /any", _echo, function_name="any")
    server = LocalApiServer(routes, port=0, quiet=True, cors=CORS)
    server.start()
    yield server
    server.stop()


def _preflight(origin: str) -> list[tuple[str, str]]:
    return [
        ("Origin", origin),
        ("Access-Control-Request-Method", "PUT"),
        ("Access-Control-Request-Headers", "authorization,if-match"),
    ]


@pytest.mark.parametrize("path", ["/items/1", "/private", "/no-route"])
def test_preflight_answered_by_server(cors_server: LocalApiServer, path: str) -> None:
    status, headers, payload = _request(
        cors_server, "OPTIONS", path, headers=_preflight(WEB_CLIENT)
    )

    assert status == 204
    assert payload == b""
    assert headers["access-control-allow-origin"] == WEB_CLIENT
    assert headers["access-control-allow-methods"] == "GET,POST,PUT,DELETE,OPTIONS"
    assert headers["access-control-allow-headers"] == (
        "authorization,content-type,if-match"
    )
    assert headers["access-control-max-age"] == "600"


def test_preflight_other_origin_gets_no_cors_headers(
    cors_server: LocalApiServer,
) -> None:
    status, headers, _ = _request(
        cors_server, "OPTIONS", "/items/1", headers=_preflight("https://evil.example")
    )

    assert status == 204
    assert "access-control-allow-origin" not in headers


def test_preflight_goes_to_any_route(cors_server: LocalApiServer) -> None:
    status, _, payload = _request(
        cors_server, "OPTIONS", "/any", headers=_preflight(WEB_CLIENT)
    )

    assert status == 200
    assert json.loads(payload)["event"]["requestContext"]["http"]["method"] == (
        "OPTIONS"
    )


def test_options_without_preflight_headers_is_404(
    cors_server: LocalApiServer,
) -> None:
    status, _, payload = _request(cors_server, "OPTIONS", "/items/1")

    assert status == 404
    assert json.loads(payload) == {"message": "Not Found"}


def test_response_carries_configured_cors_headers(
    cors_server: LocalApiServer,
) -> None:
    status, headers, _ = _request(
        cors_server, "GET", "/items/1", headers=[("Origin", WEB_CLIENT)]
    )

    assert status == 200
    assert headers.get_all("access-control-allow-origin") == [WEB_CLIENT]
    assert headers["access-control-expose-headers"] == "etag,location"


def test_response_other_origin_has_no_cors_headers(
    cors_server: LocalApiServer,
) -> None:
    status, headers, _ = _request(
        cors_server, "GET", "/items/1", headers=[("Origin", "https://evil.example")]
    )

    assert status == 200
    assert "access-control-allow-origin" not in headers


def test_gateway_error_carries_cors_headers(cors_server: LocalApiServer) -> None:
    status, headers, _ = _request(
        cors_server, "GET", "/private", headers=[("Origin", WEB_CLIENT)]
    )

    assert status == 401
    assert headers["access-control-allow-origin"] == WEB_CLIENT


def test_preflight_without_cors_configuration_is_404(
    echo_server: LocalApiServer,
) -> None:
    status, _, _ = _request(
        echo_server, "OPTIONS", "/items/1", headers=_preflight(WEB_CLIENT)
    )

    assert status == 404


def test_cors_configuration_read_from_template() -> None:
    template = Path(__file__).resolve().parents[2] / "template.yaml"

    configuration = load_cors_configuration(template, {"WebClientOrigin": WEB_CLIENT})

    assert configuration == CORS


def test_local_run_cors_from_template() -> None:
    assert local_cors_configuration(WEB_CLIENT) == CORS
    assert local_cors_configuration(None) == CorsConfiguration(
        allow_origins=(),
        allow_methods=CORS.allow_methods,
        allow_headers=CORS.allow_headers,
        expose_headers=CORS.expose_headers,
        max_age=CORS.max_age,
    )


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GET /echo HTTP/9.9", b"505 HTTP Version Not Supported"),
        (b"\x16\x03\x01SECRET-REQUEST-LINE", b"400 Bad Request"),
        (b"GET /echo?" + b"q" * 70_000 + b" HTTP/1.1", b"414 URI Too Long"),
    ],
    ids=["version", "garbage", "long-line"],
)
def test_unparsable_request_gets_gateway_json(
    echo_server: LocalApiServer, request_line: bytes, status: bytes
) -> None:
    response = _exchange_raw(echo_server, request_line + b"\r\nHost: x\r\n\r\n")
    status_line, _, rest = response.partition(b"\r\n")
    headers, _, payload = rest.partition(b"\r\n\r\n")

    assert status_line == b"HTTP/1.1 " + status
    assert b"content-type: application/json" in headers.lower()
    assert b"SECRET" not in response
    assert json.loads(payload) == {"message": status.split(b" ", 1)[1].decode()}


def test_client_gone_mid_body_not_logged_as_500(
    capsys: pytest.CaptureFixture[str],
) -> None:
    routes = RouteTable()
    routes.add("POST /echo", _echo, function_name="echo")
    server = LocalApiServer(routes, port=0)
    server.start()
    try:
        address = ("127.0.0.1", server.server_port)
        with socket.create_connection(address, timeout=5) as client:
            client.sendall(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                b"code,amount\n"
            )
            # RST on close, so the server's reply cannot be delivered.
            client.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        deadline = time.monotonic() + 5
        logged = ""
        while "UNROUTED" not in logged and time.monotonic() < deadline:
            time.sleep(0.05)
            output = capsys.readouterr()
            logged += output.out + output.err
    finally:
        server.stop()

    assert "UNROUTED" in logged
    assert " 500" not in logged
    assert "request failed" not in logged
