"""A local stand-in for the API Gateway HTTP API, without Docker.

Each HTTP request becomes a payload-2.0 event (``infra.local.events``) for the
handler whose route key matches, and the handler's result becomes the HTTP
response, as API Gateway does it. The server listens on 127.0.0.1 only.

Nothing the client chooses is printed: not the body, headers, query values,
path or method. The access log line carries the matched route key (from the
route table, or ``UNROUTED`` when none matched), the status and the duration.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from infra.local.cors import CorsConfiguration
from infra.local.events import LambdaContext, build_http_api_event, join_headers

Handler = Callable[[dict[str, Any], Any], Any]
# An authorizer receives the request's lower-cased headers and returns the JWT
# claims to place at requestContext.authorizer.jwt.claims, or raises
# AuthorizationFailed, which the server turns into 401 as API Gateway does.
Authorizer = Callable[[Mapping[str, str]], Mapping[str, Any]]

LOCAL_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
# API Gateway HTTP APIs reject request bodies over 10 MB.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# Seconds a connection may wait for the client's next bytes, so that a client
# that stops sending mid-request does not hold a serving thread for ever. The
# value is a choice: API Gateway documents no such limit on reading a client.
READ_TIMEOUT_SECONDS = 30.0

_VARIABLE = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")
# The access log's route key for a request that matched no route. The client
# chooses the method and path, so neither is printed.
UNROUTED = "UNROUTED"
# The access log's status for a request whose client left before the response.
CLIENT_CLOSED = "closed-by-client"
# The access log's route key for a CORS preflight request the server handled.
PREFLIGHT = "PREFLIGHT"


class AuthorizationFailed(Exception):
    """The request carries no valid token for a route behind an authorizer."""


@dataclass(frozen=True)
class Route:
    """One route key (``"GET /reference/release"``) wired to a handler."""

    method: str
    path: str
    handler: Handler
    function_name: str
    authorizer: Authorizer | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _compile(self.path))

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sort key: literal paths before templated ones, greedy ones last."""
        greedy = int("+}" in self.path)
        variables = len(_VARIABLE.findall(self.path))
        return (greedy, variables, -len(self.path))


def _compile(path: str) -> re.Pattern[str]:
    if path == "$default":
        return re.compile(r".*")
    pattern = ""
    position = 0
    for match in _VARIABLE.finditer(path):
        pattern += re.escape(path[position : match.start()])
        name, greedy = match.group(1), match.group(2)
        pattern += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        position = match.end()
    pattern += re.escape(path[position:])
    return re.compile(pattern)


class RouteTable:
    """Route keys of one HTTP API, matched the way API Gateway matches them."""

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._function_locks: dict[str, threading.Lock] = {}

    def add(
        self,
        route_key: str,
        handler: Handler,
        *,
        function_name: str,
        authorizer: Authorizer | None = None,
    ) -> None:
        """Add ``"METHOD /path"`` (``ANY`` for every method) or ``"$default"``."""
        if route_key == "$default":
            method, path = "ANY", "$default"
        else:
            method, _, path = route_key.partition(" ")
            if not path.startswith("/"):
                raise ValueError("a route key is '$default' or 'METHOD /path'")
        route = Route(method.upper(), path, handler, function_name, authorizer)
        if any(existing.route_key == route.route_key for existing in self._routes):
            raise ValueError("the route key is already in the table")
        self._routes.append(route)
        self._function_locks.setdefault(function_name, threading.Lock())

    def function_lock(self, function_name: str) -> threading.Lock:
        """Return the lock that runs one function's invocations one at a time.

        A Lambda instance handles one event at a time, and the functions keep
        state between events (such as one database connection), so the
        threaded server must not run two events of one function at once.
        """
        return self._function_locks[function_name]

    @property
    def route_keys(self) -> list[str]:
        return [route.route_key for route in self._routes]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """Find the most specific route for a request, with its path parameters."""
        candidates = sorted(
            (route for route in self._routes if route.path != "$default"),
            key=lambda route: (route.specificity, route.method == "ANY"),
        )
        for route in candidates:
            if route.method not in (method.upper(), "ANY"):
                continue
            found = route.pattern.fullmatch(path)
            if found:
                # Segments are matched encoded, so %2F stays inside one segment,
                # and handed over decoded, as API Gateway does.
                parameters = {
                    name: unquote(value) for name, value in found.groupdict().items()
                }
                return route, parameters
        for route in self._routes:
            if route.path == "$default":
                return route, {}
        return None


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalApiServer
    protocol_version = "HTTP/1.1"

    @property
    def timeout(self) -> float:
        # StreamRequestHandler.setup applies it to the connection's socket.
        # An idle connection then closes, and a stalled body gets 408.
        return self.server.read_timeout

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD>; every method goes through the route
        # table, so an unknown one gets API Gateway's 404 rather than a 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        # The default access log prints the request line, query values included.
        return

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        """Reject a request http.server could not parse, as the gateway would.

        http.server calls this for a malformed request line or version, a long
        request line and long or many headers. Its HTML page quotes the
        request line back, so the reply is the gateway's JSON body with the
        status's standard phrase, and the access log gets one line.
        """
        if self.request_version == "HTTP/0.9":
            # Set when the request line could not be read; HTTP/0.9 responses
            # have no status line, which HTTP/1.1 clients cannot read.
            self.request_version = self.protocol_version
        self._cors_headers = {}
        phrase = HTTPStatus(code).phrase
        self.close_connection = True
        try:
            self._send_gateway_error(code, phrase, close=True)
        finally:
            self._log_access(UNROUTED, code, None)

    def _dispatch(self) -> None:
        started = time.monotonic()
        # CORS headers for this request's response, set once its headers are read.
        self._cors_headers: dict[str, str] = {}
        method = self.command
        target = urlsplit(self.path)
        route_key = UNROUTED
        status: int | str = 500
        try:
            status, route_key = self._handle(method, target.path, target.query)
        except ConnectionError:
            # The client closed the connection before the response was sent,
            # which is no failure of the server.
            self.close_connection = True
            status = CLIENT_CLOSED
        finally:
            self._log_access(route_key, status, started)

    def _log_access(
        self, route_key: str, status: int | str, started: float | None
    ) -> None:
        """Print the access log line: route key, status and duration, no values."""
        if self.server.quiet:
            return
        line = f"{route_key} {status}"
        if started is not None:
            line += f" {(time.monotonic() - started) * 1000:.0f} ms"
        print(line, file=sys.stderr, flush=True)

    def _handle(self, method: str, path: str, query: str) -> tuple[int, str]:
        """Handle one request; return the status and the route key for the log."""
        unrouted = UNROUTED
        lengths = set(self.headers.get_all("Content-Length") or [])
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._reject_unread_body(411, "Length Required"), unrouted
        if len(lengths) > 1:
            # RFC 9112, section 6.3: differing lengths make the message
            # unreadable, and the rest of the body would pass for a request.
            return self._reject_unread_body(400, "Bad Request"), unrouted
        try:
            length = int(next(iter(lengths))) if lengths else 0
        except ValueError:
            return self._reject_unread_body(400, "Bad Request"), unrouted
        if length < 0:
            return self._reject_unread_body(400, "Bad Request"), unrouted
        if length > MAX_REQUEST_BYTES:
            return self._reject_unread_body(413, "Request Entity Too Large"), unrouted
        # Bodies are read a few at a time, so that many parallel uploads do
        # not hold many copies of up to 10 MB at once.
        with self.server.body_slots:
            try:
                body = self.rfile.read(length) if length else None
            except TimeoutError:
                return self._reject_unread_body(408, "Request Timeout"), unrouted
            return self._handle_body(method, path, query, body, length)

    def _handle_body(
        self, method: str, path: str, query: str, body: bytes | None, length: int
    ) -> tuple[int, str]:
        """Route one request whose body has been read; see ``_handle``."""
        unrouted = UNROUTED
        if body is not None and len(body) < length:
            # The client closed its side before sending Content-Length bytes.
            # API Gateway never forwards a partial body to the function.
            return self._reject_unread_body(400, "Bad Request"), unrouted

        headers = [(name.lower(), value) for name, value in self.headers.items()]
        request_headers = join_headers(headers)
        cors = self.server.cors
        if cors is not None:
            self._cors_headers = cors.response_headers(request_headers)

        matched = self.server.routes.match(method, path)
        if matched is None:
            # API Gateway responds to a preflight that no route takes (no
            # OPTIONS or ANY route matches) itself, without calling a function.
            # NOTE: AWS does not document the status of that response or what
            # it sends to an origin it does not allow. 204, and no CORS
            # headers for such an origin, are this server's choice.
            if cors is not None and cors.is_preflight(method, request_headers):
                self._cors_headers = cors.preflight_headers(request_headers)
                self._send(204, {}, [], b"")
                return 204, PREFLIGHT
            return self._send_gateway_error(404, "Not Found"), unrouted
        route, path_parameters = matched

        claims = None
        if route.authorizer is not None:
            try:
                claims = route.authorizer(request_headers)
            except AuthorizationFailed:
                return self._send_gateway_error(401, "Unauthorized"), route.route_key

        event = build_http_api_event(
            method,
            path,
            raw_query_string=query,
            headers=headers,
            body=body,
            route_key=route.route_key,
            path_parameters=path_parameters,
            claims=claims,
            source_ip=self.client_address[0],
            domain_name=f"{LOCAL_HOST}:{self.server.server_port}",
        )
        context = LambdaContext(route.function_name)
        try:
            with self.server.routes.function_lock(route.function_name):
                result = route.handler(event, context)
        except Exception:  # noqa: BLE001 - API Gateway turns a crash into a 500.
            # The exception text may quote input, so only its class is printed.
            error_class = sys.exc_info()[0]
            name = error_class.__name__ if error_class else "Exception"
            print(f"handler raised {name}", file=sys.stderr, flush=True)
            return (
                self._send_gateway_error(500, "Internal Server Error"),
                route.route_key,
            )
        return self._send_result(result), route.route_key

    def _send_result(self, result: Any) -> int:
        if not isinstance(result, dict) or "statusCode" not in result:
            # Payload 2.0 treats any other return value as a JSON 200 body.
            payload = json.dumps(result).encode("utf-8")
            self._send(200, {"content-type": "application/json"}, [], payload)
            return 200
        status = int(result["statusCode"])
        headers = {
            name.lower(): str(value)
            for name, value in (result.get("headers") or {}).items()
        }
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = ",".join(str(value) for value in values)
        # Hop-by-hop headers belong to the gateway's connection, not the handler.
        headers.pop("connection", None)
        cookies = [str(cookie) for cookie in result.get("cookies") or []]
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            payload = base64.b64decode(body)
        else:
            payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        self._send(status, headers, cookies, payload)
        return status

    def _reject_unread_body(self, status: int, message: str) -> int:
        # The unread body would be taken for the next request on this
        # connection, so the connection closes after the error.
        self.close_connection = True
        return self._send_gateway_error(status, message, close=True)

    def _send_gateway_error(
        self, status: int, message: str, *, close: bool = False
    ) -> int:
        payload = json.dumps({"message": message}).encode("utf-8")
        headers = {"content-type": "application/json"}
        if close:
            headers["connection"] = "close"
        self._send(status, headers, [], payload)
        return status

    def _send(
        self, status: int, headers: dict[str, str], cookies: list[str], payload: bytes
    ) -> None:
        if self.server.cors is not None:
            # API Gateway ignores the function's CORS headers and sends the
            # configured ones.
            headers = {
                name: value
                for name, value in headers.items()
                if not name.startswith("access-control-")
            }
            headers.update(self._cors_headers)
        self.send_response(status)
        for name, value in headers.items():
            if name in ("content-length", "transfer-encoding"):
                continue
            self.send_header(name, value)
        for cookie in cookies:
            self.send_header("set-cookie", cookie)
        if status != 204:
            # RFC 9110, section 8.6: a 204 response carries no Content-Length.
            self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class LocalApiServer(ThreadingHTTPServer):
    """The threaded HTTP server that feeds a ``RouteTable``'s handlers."""

    daemon_threads = True
    read_timeout = READ_TIMEOUT_SECONDS
    # Requests whose bodies are read and handled at once; the others wait.
    # NOTE: clients that stall mid-body hold their slots until the read
    # timeout, so this many of them delay every other request that long.
    max_bodies = 16
    # With socketserver's default listen backlog of 5, the kernel dropped or
    # reset connections when parallel uploads arrived faster than the serving
    # thread accepted them. Linux caps this value at net.core.somaxconn.
    request_queue_size = socket.SOMAXCONN

    def __init__(
        self,
        routes: RouteTable,
        *,
        port: int = DEFAULT_PORT,
        quiet: bool = False,
        cors: CorsConfiguration | None = None,
    ) -> None:
        super().__init__((LOCAL_HOST, port), _RequestHandler)
        self.routes = routes
        self.quiet = quiet
        self.body_slots = threading.BoundedSemaphore(self.max_bodies)
        # The HTTP API's CORS configuration, or None for an API without one.
        self.cors = cors
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{LOCAL_HOST}:{self.server_port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints the traceback, whose message may quote the
        # request (a malformed header, say), so only the class is printed.
        error_class = sys.exc_info()[0]
        name = error_class.__name__ if error_class else "Exception"
        print(f"request failed: {name}", file=sys.stderr, flush=True)

    def start(self) -> None:
        """Serve in a background thread until ``stop``."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def add_function_routes(
    routes: RouteTable,
    route_keys: list[str],
    handler: Handler,
    *,
    function_name: str,
    authorizer: Authorizer | None = None,
) -> None:
    """Wire every route key of one function to its handler."""
    for route_key in route_keys:
        routes.add(
            route_key, handler, function_name=function_name, authorizer=authorizer
        )
