"""Configuration from environment variables, read and validated in one place.

This package is the only place that reads settings, with one module per
area. This module contains the ``env_*`` readers and the settings of uploads
and of the ENCORE release, which the dashboard and portfolio functions share.
The area modules are ``database`` (PostgreSQL and saved portfolios),
``backup`` (database snapshots) and ``biodiversity`` (biodiversity data and
dashboard limits). Only the functions that use an area import its module, so
the cold starts of the other functions do not build its classes.

Each area has a settings class, a named tuple (see ``nature_risk``), with a
``from_env`` constructor. A bad value raises ``ConfigurationError`` naming
the variable, at start-up. Add a new area's settings as a new module here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple


class ConfigurationError(RuntimeError):
    """An environment variable is missing or invalid.

    ``setting`` names the variable where one is at fault, for logs.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting

    def log_fields(self) -> dict[str, object]:
        """Describe the error for a log line: its class, code and variable name.

        The message is left out. The keys are allowlisted in
        ``nature_risk.observability``, which drops a missing variable name.
        """
        return {
            "error_class": type(self).__name__,
            "error_code": "configuration_invalid",
            "setting": self.setting,
        }


def env_str(
    name: str, default: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Read a required string; ``default`` applies when it is unset or empty."""
    value = (env if env is not None else os.environ).get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ConfigurationError(f"{name} is not set", setting=name)
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
        raise ConfigurationError(
            f"{name} must be a whole number", setting=name
        ) from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}", setting=name)
    return value


def env_int_field(
    settings: Any,
    field: str,
    name: str,
    *,
    minimum: int = 1,
    env: Mapping[str, str] | None = None,
) -> int:
    """Read the whole number ``name`` into ``field``, whose default applies if unset."""
    # A named tuple's field is a descriptor on the class, so its default is
    # read from ``_field_defaults``.
    default = settings._field_defaults[field]
    return env_int(name, default, minimum=minimum, env=env)


def env_bool(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    """Read true/false (also 1/0, yes/no)."""
    raw = (env if env is not None else os.environ).get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes"}:
        return True
    if raw in {"0", "false", "no"}:
        return False
    raise ConfigurationError(f"{name} must be true or false", setting=name)


def env_dir(name: str, env: Mapping[str, str] | None = None) -> Path:
    """Read a required path to an existing folder."""
    path = Path(env_str(name, env=env))
    if not path.is_dir():
        raise ConfigurationError(
            f"{name} does not name an existing folder", setting=name
        )
    return path


class InputLimits(NamedTuple):
    """Limits on one uploaded portfolio."""

    max_body_bytes: int = 4 * 1024 * 1024
    max_rows: int = 100_000
    max_row_errors: int = 1_000
    # A header of a million separators would otherwise build a million columns.
    max_columns: int = 200

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> InputLimits:
        return cls(
            max_body_bytes=env_int_field(
                cls, "max_body_bytes", "MAX_BODY_BYTES", env=env
            ),
            max_rows=env_int_field(cls, "max_rows", "MAX_ROWS", env=env),
            max_row_errors=env_int_field(
                cls, "max_row_errors", "MAX_ROW_ERRORS", env=env
            ),
            max_columns=env_int_field(cls, "max_columns", "MAX_COLUMNS", env=env),
        )


class KnowledgeBaseSettings(NamedTuple):
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
