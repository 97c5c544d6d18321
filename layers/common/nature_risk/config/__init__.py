"""Configuration from environment variables, read and validated in one place.

Each area has a frozen settings class with a ``from_env`` constructor. A bad
value raises ``ConfigurationError`` naming the variable, at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigurationError(RuntimeError):
    """An environment variable is missing or invalid."""


def env_str(
    name: str, default: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Read a required string; ``default`` applies when it is unset or empty."""
    value = (env if env is not None else os.environ).get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ConfigurationError(f"{name} is not set")
    return default


def env_optional(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """Read an optional string; unset or empty gives None."""
    value = (env if env is not None else os.environ).get(name, "").strip()
    return value or None


def env_int(
    name: str,
    default: int,
    *,
    minimum: int = 1,
    env: Mapping[str, str] | None = None,
) -> int:
    """Read a whole number of at least ``minimum``."""
    raw = (env if env is not None else os.environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def env_bool(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    """Read true/false (also 1/0, yes/no)."""
    raw = (env if env is not None else os.environ).get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes"}:
        return True
    if raw in {"0", "false", "no"}:
        return False
    raise ConfigurationError(f"{name} must be true or false")


def env_dir(name: str, env: Mapping[str, str] | None = None) -> Path:
    """Read a required path to an existing folder."""
    path = Path(env_str(name, env=env))
    if not path.is_dir():
        raise ConfigurationError(f"{name} does not name an existing folder")
    return path


@dataclass(frozen=True, slots=True)
class InputLimits:
    """Limits on one uploaded portfolio."""

    max_body_bytes: int = 4 * 1024 * 1024
    max_rows: int = 100_000
    max_row_errors: int = 1_000
    # A header of a million separators would otherwise build a million columns.
    max_columns: int = 200

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> InputLimits:
        return cls(
            max_body_bytes=env_int(
                "MAX_BODY_BYTES", _default(cls, "max_body_bytes"), env=env
            ),
            max_rows=env_int("MAX_ROWS", _default(cls, "max_rows"), env=env),
            max_row_errors=env_int(
                "MAX_ROW_ERRORS", _default(cls, "max_row_errors"), env=env
            ),
            max_columns=env_int("MAX_COLUMNS", _default(cls, "max_columns"), env=env),
        )


def _default(cls: type, name: str) -> Any:
    # With slots=True a field's default is not a class attribute, so
    # ``cls.name`` would return the slot descriptor instead of the value.
    return cls.__dataclass_fields__[name].default


# The RDS CA bundle in nature_risk/certs, which the layer build downloads and
# checks (infra/fetch_rds_ca_bundle.py).
DEFAULT_DB_CA_BUNDLE = (
    Path(__file__).resolve().parent.parent / "certs" / "rds-global-bundle.pem"
)


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
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
            port=env_int("DB_PORT", _default(cls, "port"), env=env),
            user=user,
            secret_arn=secret_arn,
            iam_auth=iam_auth,
            region=env_optional("AWS_REGION", env=env),
            ca_bundle=Path(env_str("DB_CA_BUNDLE", str(DEFAULT_DB_CA_BUNDLE), env=env)),
            connect_timeout_seconds=env_int(
                "DB_CONNECT_TIMEOUT_SECONDS",
                _default(cls, "connect_timeout_seconds"),
                env=env,
            ),
            statement_timeout_ms=env_int(
                "DB_STATEMENT_TIMEOUT_MS",
                _default(cls, "statement_timeout_ms"),
                env=env,
            ),
            secret_cache_seconds=env_int(
                "DB_SECRET_CACHE_SECONDS",
                _default(cls, "secret_cache_seconds"),
                minimum=0,
                env=env,
            ),
            migrations_dir=Path(migrations_dir) if migrations_dir else None,
        )


@dataclass(frozen=True, slots=True)
class PortfolioLimits:
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
        holding_bytes = env_int(
            "MAX_PORTFOLIO_HOLDING_BYTES", _default(cls, "max_holding_bytes"), env=env
        )
        if holding_bytes > 500_000:
            raise ConfigurationError(
                "MAX_PORTFOLIO_HOLDING_BYTES must be at most 500000"
            )
        page_bytes = env_int(
            "MAX_EXPORT_PAGE_BYTES", _default(cls, "max_export_page_bytes"), env=env
        )
        if page_bytes > 5_000_000:
            raise ConfigurationError("MAX_EXPORT_PAGE_BYTES must be at most 5000000")
        return cls(
            max_holding_bytes=holding_bytes,
            max_export_page_bytes=page_bytes,
            max_portfolios_per_user=env_int(
                "MAX_PORTFOLIOS_PER_USER",
                _default(cls, "max_portfolios_per_user"),
                env=env,
            ),
            max_holdings=env_int(
                "MAX_PORTFOLIO_HOLDINGS", _default(cls, "max_holdings"), env=env
            ),
            max_name_length=env_int(
                "MAX_PORTFOLIO_NAME_LENGTH", _default(cls, "max_name_length"), env=env
            ),
            max_page_size=env_int(
                "MAX_PORTFOLIO_PAGE_SIZE", _default(cls, "max_page_size"), env=env
            ),
        )


@dataclass(frozen=True, slots=True)
class BiodiversitySettings:
    """Locations of the biodiversity data and layer packs, and their distances."""

    data_dir: Path
    packs_dir: Path | None = None
    radius_km: int = 10
    coastal_fallback_km: int = 25

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BiodiversitySettings:
        packs = env_optional("BIODIVERSITY_PACKS_DIR", env=env)
        if packs is not None and not Path(packs).is_dir():
            raise ConfigurationError(
                "BIODIVERSITY_PACKS_DIR does not name an existing folder"
            )
        return cls(
            data_dir=env_dir("BIODIVERSITY_DATA_DIR", env=env),
            packs_dir=Path(packs) if packs else None,
            radius_km=env_int(
                "BIODIVERSITY_RADIUS_KM", _default(cls, "radius_km"), env=env
            ),
            coastal_fallback_km=env_int(
                "BIODIVERSITY_COASTAL_FALLBACK_KM",
                _default(cls, "coastal_fallback_km"),
                minimum=0,
                env=env,
            ),
        )


@dataclass(frozen=True, slots=True)
class KnowledgeBaseSettings:
    """Location of the ENCORE release, an optional name and an optional snapshot.

    ``snapshot`` names a file written by ``nature_risk.knowledge_base_snapshot``
    at build time. It is used only while it matches the release folder.
    """

    kb_dir: Path
    release_name: str | None = None
    snapshot: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KnowledgeBaseSettings:
        snapshot = env_optional("ENCORE_KB_SNAPSHOT", env=env)
        return cls(
            kb_dir=env_dir("ENCORE_KB_DIR", env=env),
            release_name=env_optional("ENCORE_RELEASE_NAME", env=env),
            snapshot=Path(snapshot) if snapshot else None,
        )


@dataclass(frozen=True, slots=True)
class BackupSettings:
    """Destination and encoding settings of database snapshots.

    ``kms_key_arn`` is required to take a snapshot and unused by verify and
    restore, which read objects with the bucket's key policy.
    """

    bucket: str
    kms_key_arn: str | None = None
    part_size_mib: int = 8
    # On generated saved portfolios, gzip level 1 output is about 6% larger
    # than level 6 output and takes about a third of its CPU time.
    compression_level: int = 1
    statement_timeout_ms: int = 900_000

    @property
    def part_size(self) -> int:
        """Multipart upload part size in bytes."""
        return self.part_size_mib * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BackupSettings:
        level = env_int(
            "BACKUP_COMPRESSION_LEVEL",
            _default(cls, "compression_level"),
            minimum=1,
            env=env,
        )
        if level > 9:
            raise ConfigurationError("BACKUP_COMPRESSION_LEVEL must be at most 9")
        return cls(
            bucket=env_str("BACKUP_BUCKET", env=env),
            kms_key_arn=env_optional("BACKUP_KMS_KEY_ARN", env=env),
            # S3 rejects multipart parts below 5 MiB, except the last one.
            part_size_mib=env_int(
                "BACKUP_PART_SIZE_MIB",
                _default(cls, "part_size_mib"),
                minimum=5,
                env=env,
            ),
            compression_level=level,
            statement_timeout_ms=env_int(
                "BACKUP_STATEMENT_TIMEOUT_MS",
                _default(cls, "statement_timeout_ms"),
                env=env,
            ),
        )


@dataclass(frozen=True, slots=True)
class BiodiversityLimits:
    """Row limits of the mining and agriculture dashboards.

    Both are sized so that the dashboard fits in one Lambda response (6 MB)
    and is built well inside the function's timeout: about 330 bytes of JSON
    per asset or holding, with short names.
    """

    max_mining_assets: int = 10_000
    max_agriculture_holdings: int = 10_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BiodiversityLimits:
        return cls(
            max_mining_assets=env_int(
                "MAX_MINING_ASSETS", _default(cls, "max_mining_assets"), env=env
            ),
            max_agriculture_holdings=env_int(
                "MAX_AGRICULTURE_HOLDINGS",
                _default(cls, "max_agriculture_holdings"),
                env=env,
            ),
        )
