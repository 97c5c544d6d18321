"""The PostgreSQL connection: verified TLS, credentials, reuse and error mapping.

Every connection wraps its socket in an ``ssl.SSLContext`` that checks the
server certificate against the configured CA bundle and the host name
(PostgreSQL's verify-full). pg8000 is never given ``ssl_context=True`` or left
at its default, because both accept any certificate or fall back to plain text.

One ``Database`` object lives per warm Lambda container and keeps one
connection open between invocations. A connection found dead when a
transaction starts is re-opened once; nothing has been written at that point.
A connection is kept after a failed transaction only when its protocol state
is known: the server reported the error, or the product raised its own error
between statements, and ``ROLLBACK`` then succeeded. After any other failure
(an encoding error, a timeout or a bug raised half-way through a pg8000 call)
the connection is closed, so the next transaction opens a fresh one and never
reads a reply meant for an earlier statement.

The server's error text can quote the values a request sent, so it never
reaches a log or a response: failures become fixed-text errors from
``nature_risk.errors`` and logs carry only the SQLSTATE code and error class.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pg8000.native
from aws_lambda_powertools import Logger

from nature_risk.config.database import DatabaseSettings
from nature_risk.errors import Conflict, NatureRiskError, ServiceUnavailable
from nature_risk.observability import get_logger


def _logger() -> Logger:
    # The product logger of POWERTOOLS_SERVICE_NAME, looked up per call so the
    # function's service name applies, with its allowlist formatter.
    return get_logger()


APPLICATION_NAME = "nature-risk"
UNAVAILABLE_MESSAGE = "The database is unavailable. Try again later."

# SQLSTATE codes (PostgreSQL manual, appendix A "Error Codes").
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
UNIQUE_VIOLATION = "23505"
QUERY_CANCELED = "57014"
INVALID_PASSWORD = "28P01"  # noqa: S105 - an SQLSTATE code, not a password
INVALID_AUTHORIZATION = "28000"
# Class 08 (connection exception) and 57P0x (operator intervention, e.g. a
# server restart) mean the session is gone.
CONNECTION_LOST_PREFIXES = ("08", "57P01", "57P02", "57P03")


class DatabaseFailure(NatureRiskError):
    """The database rejected a statement for a reason the request cannot fix."""

    status = 500
    code = "database_error"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A database user name and its password or IAM authentication token."""

    user: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password=<hidden>)"


def sqlstate_of(error: BaseException) -> str | None:
    """Return the SQLSTATE code of a pg8000 server error, or None."""
    if isinstance(error, pg8000.native.DatabaseError) and error.args:
        details = error.args[0]
        if isinstance(details, dict):
            code = details.get("C")
            return code if isinstance(code, str) else None
    return None


def build_ssl_context(settings: DatabaseSettings) -> ssl.SSLContext:
    """Build a context that verifies the server against ``settings.ca_bundle``.

    Raises ``ServiceUnavailable`` when the bundle is missing or unreadable.
    """
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(settings.ca_bundle)
        )
    except (OSError, ssl.SSLError) as error:
        _logger().error(
            "The database CA bundle cannot be loaded",
            extra={"error_class": type(error).__name__},
        )
        raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from None
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class SecretCredentials:
    """Credentials from a Secrets Manager secret, cached for ``ttl_seconds``.

    The RDS-managed secret is JSON with ``username`` and ``password``. The
    cache is dropped when the server rejects the password, so that a rotated
    secret is picked up on the next attempt.
    """

    def __init__(
        self,
        secret_id: str,
        client_factory: Callable[[], Any],
        ttl_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._client_factory = client_factory
        self._ttl_seconds = ttl_seconds
        self._clock = clock
        self._cached: Credentials | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> Credentials:
        """Return the cached credentials, fetching the secret when they expired."""
        with self._lock:
            fresh = self._clock() - self._fetched_at < self._ttl_seconds
            if self._cached is not None and fresh:
                return self._cached
            self._cached = self._fetch()
            self._fetched_at = self._clock()
            return self._cached

    def invalidate(self) -> None:
        """Drop the cached credentials."""
        with self._lock:
            self._cached = None

    def _fetch(self) -> Credentials:
        try:
            response = self._client_factory().get_secret_value(SecretId=self._secret_id)
            secret = json.loads(response["SecretString"])
            return Credentials(str(secret["username"]), str(secret["password"]))
        except Exception as error:  # noqa: BLE001 - boto3, JSON and key errors alike
            _logger().error(
                "The database secret cannot be read",
                extra={"error_class": type(error).__name__},
            )
            raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from None


class IamTokenCredentials:
    """Credentials whose password is a fresh RDS IAM authentication token.

    A token is valid for 15 minutes and is only checked when a connection
    opens, so one is generated per connection.
    """

    def __init__(
        self, settings: DatabaseSettings, client_factory: Callable[[], Any]
    ) -> None:
        if settings.user is None:
            raise ValueError("IAM authentication needs a database user")
        self._settings = settings
        self._user = settings.user
        self._client_factory = client_factory

    def get(self) -> Credentials:
        """Generate a token for the configured user, host and port."""
        try:
            token = self._client_factory().generate_db_auth_token(
                DBHostname=self._settings.host,
                Port=self._settings.port,
                DBUsername=self._user,
                Region=self._settings.region,
            )
        except Exception as error:  # noqa: BLE001 - any SDK failure
            _logger().error(
                "An IAM database token cannot be generated",
                extra={"error_class": type(error).__name__},
            )
            raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from None
        return Credentials(self._user, token)

    def invalidate(self) -> None:
        """Do nothing: every call makes a new token."""


CredentialSource = SecretCredentials | IamTokenCredentials


def credentials_from_settings(settings: DatabaseSettings) -> CredentialSource:
    """Choose the secret or the IAM token source the settings name."""
    import boto3

    if settings.iam_auth:
        return IamTokenCredentials(
            settings, lambda: boto3.client("rds", region_name=settings.region)
        )
    if settings.secret_arn is None:
        raise ValueError("either a secret or IAM authentication is required")
    return SecretCredentials(
        settings.secret_arn,
        lambda: boto3.client("secretsmanager", region_name=settings.region),
        settings.secret_cache_seconds,
    )


class CertificateVerificationFailed(ServiceUnavailable):
    """The server's TLS certificate or host name did not verify.

    The message stays the generic one, so API clients learn nothing more.
    Operator tools catch this class to name the cause.
    """


def _is_certificate_failure(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _log_failure(message: str, error: BaseException) -> None:
    fields: dict[str, object] = {"error_class": type(error).__name__}
    code = sqlstate_of(error)
    if code is not None:
        # The log allowlist takes identifiers only, and SQLSTATEs can start
        # with a digit, so the code is logged as sqlstate_22P02.
        fields["error_code"] = f"sqlstate_{code}"
    _logger().error(message, extra=fields)


def open_connection(
    settings: DatabaseSettings, credentials: CredentialSource | None = None
) -> pg8000.native.Connection:
    """Open one connection over verified TLS, with the statement timeout set.

    A rejected password drops the cached secret and is retried once, which
    covers a secret rotated since it was cached. Raises ``ServiceUnavailable``
    for every failure, with the cause logged by class and SQLSTATE only. A
    certificate that did not verify raises its subclass
    ``CertificateVerificationFailed``.
    """
    source = credentials or credentials_from_settings(settings)
    context = build_ssl_context(settings)
    for attempt in range(2):
        login = source.get()
        try:
            return pg8000.native.Connection(
                user=login.user,
                password=login.password,
                host=settings.host,
                port=settings.port,
                database=settings.name,
                ssl_context=context,
                # pg8000 applies this socket timeout to every read, so it must
                # outlast the longest statement.
                timeout=settings.connect_timeout_seconds
                + settings.statement_timeout_ms / 1000,
                application_name=APPLICATION_NAME,
                startup_params={
                    "statement_timeout": str(settings.statement_timeout_ms)
                },
            )
        except pg8000.native.DatabaseError as error:
            rejected = sqlstate_of(error) in {INVALID_PASSWORD, INVALID_AUTHORIZATION}
            if rejected and attempt == 0:
                source.invalidate()
                continue
            _log_failure("The database rejected the connection", error)
        except (pg8000.native.InterfaceError, OSError) as error:
            # ssl.SSLError (a bad certificate or host name) is an OSError.
            _log_failure("The database connection failed", error)
            if _is_certificate_failure(error):
                raise CertificateVerificationFailed(UNAVAILABLE_MESSAGE) from None
        raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from None
    raise AssertionError("unreachable")


def translate_error(error: BaseException) -> NatureRiskError:
    """Map a pg8000 failure to a fixed-text product error, logging its class only."""
    code = sqlstate_of(error)
    if code in {SERIALIZATION_FAILURE, DEADLOCK_DETECTED, UNIQUE_VIOLATION}:
        _log_failure("A database write conflicted with another request", error)
        return Conflict("The request conflicted with another change. Try again.")
    if code == QUERY_CANCELED:
        _log_failure("A database statement timed out", error)
        return ServiceUnavailable("The database timed out. Try again later.")
    if code is None or code.startswith(CONNECTION_LOST_PREFIXES):
        _log_failure("The database connection failed", error)
        return ServiceUnavailable(UNAVAILABLE_MESSAGE)
    _log_failure("The database rejected a statement", error)
    return DatabaseFailure("The database failed to process the request.")


DATABASE_ERRORS = (pg8000.native.Error, OSError)


class Database:
    """One reusable connection and the transactions run on it."""

    def __init__(
        self,
        settings: DatabaseSettings,
        credentials: CredentialSource | None = None,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._connection: pg8000.native.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> pg8000.native.Connection:
        if self._credentials is None:
            self._credentials = credentials_from_settings(self.settings)
        return open_connection(self.settings, self._credentials)

    def close(self) -> None:
        """Close the connection if one is open."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(*DATABASE_ERRORS):
                connection.close()

    def _begin(self, isolation: str) -> pg8000.native.Connection:
        statement = f"START TRANSACTION ISOLATION LEVEL {isolation}"
        for attempt in range(2):
            if self._connection is None:
                self._connection = self._open()
            try:
                self._connection.run(statement)
                return self._connection
            except BaseException as error:
                if not isinstance(error, DATABASE_ERRORS):
                    self.close()
                    raise
                self.close()
                if attempt == 0:
                    _logger().warning(
                        "The database connection was dead and is re-opened",
                        extra={"error_class": type(error).__name__},
                    )
                    continue
                raise translate_error(error) from None
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def transaction(
        self, isolation: str = "READ COMMITTED"
    ) -> Iterator[pg8000.native.Connection]:
        """Run the block in one transaction: commit at the end, roll back on error.

        pg8000 errors raised inside the block become product errors from
        ``translate_error``, without the server's message. Any other exception
        is re-raised after the connection is rolled back or, when its state is
        in doubt, closed (see ``connection_in_step``).
        """
        if isolation not in {"READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"}:
            raise ValueError("unknown isolation level")
        with self._lock:
            connection = self._begin(isolation)
            try:
                yield connection
                connection.run("COMMIT")
            except BaseException as error:
                if connection_in_step(error):
                    self._rollback()
                else:
                    # The server rolls back the transaction of a closed session.
                    self.close()
                if isinstance(error, DATABASE_ERRORS):
                    raise translate_error(error) from None
                raise

    def _rollback(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.run("ROLLBACK")
        except Exception:  # noqa: BLE001 - any failure makes the session unusable
            # The session is unusable; the server rolls back a closed session.
            # The caller gets the block's own error, not this one.
            self.close()
        except BaseException:
            self.close()
            raise


def _raised_in_driver(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if module == "pg8000" or module.startswith("pg8000."):
            return True
        traceback = traceback.tb_next
    return False


def connection_in_step(error: BaseException) -> bool:
    """Tell whether the connection is still in step with the server after ``error``.

    pg8000 reads a failed statement's replies up to ReadyForQuery before it
    raises the server's error, so an error carrying an SQLSTATE leaves the
    protocol in step, unless that SQLSTATE means the session is gone. A
    product error raised between statements does too. Everything else, and
    any exception raised from inside pg8000 (such as ``UnicodeEncodeError``
    while it writes a parameter), may leave replies unread.
    """
    if isinstance(error, pg8000.native.DatabaseError):
        code = sqlstate_of(error)
        return code is not None and not code.startswith(CONNECTION_LOST_PREFIXES)
    return isinstance(error, NatureRiskError) and not _raised_in_driver(error)
