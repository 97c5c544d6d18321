"""Settings of the PostgreSQL database and of the portfolios saved in it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from nature_risk.config import (
    ConfigurationError,
    env_bool,
    env_int_field,
    env_optional,
    env_str,
)

# The RDS CA bundle in nature_risk/certs, which the layer build downloads and
# checks (infra/fetch_rds_ca_bundle.py).
DEFAULT_DB_CA_BUNDLE = (
    Path(__file__).resolve().parent.parent / "certs" / "rds-global-bundle.pem"
)


class DatabaseSettings(NamedTuple):
    """Location of the PostgreSQL database and how to authenticate over TLS.

    Credentials come from the Secrets Manager secret ``DB_SECRET_ARN`` (the
    RDS-managed secret, JSON with ``username`` and ``password``), or, with
    ``DB_IAM_AUTH=true``, from an RDS IAM authentication token for ``DB_USER``.
    """

    host: str
    name: str
    port: int = 5432
    user: str | None = None
    secret_arn: str | None = None
    iam_auth: bool = False
    region: str | None = None
    ca_bundle: Path = DEFAULT_DB_CA_BUNDLE
    connect_timeout_seconds: int = 5
    statement_timeout_ms: int = 5_000
    secret_cache_seconds: int = 300
    migrations_dir: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DatabaseSettings:
        iam_auth = env_bool("DB_IAM_AUTH", False, env=env)
        secret_arn = env_optional("DB_SECRET_ARN", env=env)
        user = env_optional("DB_USER", env=env)
        if iam_auth and user is None:
            raise ConfigurationError("DB_USER is not set (DB_IAM_AUTH needs it)")
        if not iam_auth and secret_arn is None:
            raise ConfigurationError("DB_SECRET_ARN is not set and DB_IAM_AUTH is off")
        migrations_dir = env_optional("DB_MIGRATIONS_DIR", env=env)
        return cls(
            host=env_str("DB_HOST", env=env),
            name=env_str("DB_NAME", env=env),
            port=env_int_field(cls, "port", "DB_PORT", env=env),
            user=user,
            secret_arn=secret_arn,
            iam_auth=iam_auth,
            region=env_optional("AWS_REGION", env=env),
            ca_bundle=Path(env_str("DB_CA_BUNDLE", str(DEFAULT_DB_CA_BUNDLE), env=env)),
            connect_timeout_seconds=env_int_field(
                cls, "connect_timeout_seconds", "DB_CONNECT_TIMEOUT_SECONDS", env=env
            ),
            statement_timeout_ms=env_int_field(
                cls, "statement_timeout_ms", "DB_STATEMENT_TIMEOUT_MS", env=env
            ),
            secret_cache_seconds=env_int_field(
                cls,
                "secret_cache_seconds",
                "DB_SECRET_CACHE_SECONDS",
                minimum=0,
                env=env,
            ),
            migrations_dir=Path(migrations_dir) if migrations_dir else None,
        )


class PortfolioLimits(NamedTuple):
    """Limits on saved portfolios, per user and per portfolio."""

    max_portfolios_per_user: int = 100
    max_holdings: int = 20_000
    max_name_length: int = 200
    max_page_size: int = 100
    # Sizes in bytes of JSON as a Lambda response carries it, where the body
    # is a JSON string and so escaped twice. An export page contains at most
    # max_export_page_bytes plus one holding, so both maximums together stay
    # under Lambda's 6 MB response limit.
    max_holding_bytes: int = 100_000
    max_export_page_bytes: int = 4_000_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PortfolioLimits:
        holding_bytes = env_int_field(
            cls, "max_holding_bytes", "MAX_PORTFOLIO_HOLDING_BYTES", env=env
        )
        if holding_bytes > 500_000:
            raise ConfigurationError(
                "MAX_PORTFOLIO_HOLDING_BYTES must be at most 500000"
            )
        page_bytes = env_int_field(
            cls, "max_export_page_bytes", "MAX_EXPORT_PAGE_BYTES", env=env
        )
        if page_bytes > 5_000_000:
            raise ConfigurationError("MAX_EXPORT_PAGE_BYTES must be at most 5000000")
        return cls(
            max_holding_bytes=holding_bytes,
            max_export_page_bytes=page_bytes,
            max_portfolios_per_user=env_int_field(
                cls, "max_portfolios_per_user", "MAX_PORTFOLIOS_PER_USER", env=env
            ),
            max_holdings=env_int_field(
                cls, "max_holdings", "MAX_PORTFOLIO_HOLDINGS", env=env
            ),
            max_name_length=env_int_field(
                cls, "max_name_length", "MAX_PORTFOLIO_NAME_LENGTH", env=env
            ),
            max_page_size=env_int_field(
                cls, "max_page_size", "MAX_PORTFOLIO_PAGE_SIZE", env=env
            ),
        )
