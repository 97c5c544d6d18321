"""Configuration from environment variables, read and validated in one place.

Each area has a frozen settings class with a ``from_env`` constructor. A bad
value raises ``ConfigurationError`` naming the variable, at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> InputLimits:
        return cls(
            max_body_bytes=env_int("MAX_BODY_BYTES", cls.max_body_bytes, env=env),
            max_rows=env_int("MAX_ROWS", cls.max_rows, env=env),
            max_row_errors=env_int("MAX_ROW_ERRORS", cls.max_row_errors, env=env),
        )
