"""Settings of the database snapshots that the backup function writes to S3."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from nature_risk.config import ConfigurationError, env_int_field, env_optional, env_str


class BackupSettings(NamedTuple):
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
        level = env_int_field(
            cls, "compression_level", "BACKUP_COMPRESSION_LEVEL", minimum=1, env=env
        )
        if level > 9:
            raise ConfigurationError("BACKUP_COMPRESSION_LEVEL must be at most 9")
        return cls(
            bucket=env_str("BACKUP_BUCKET", env=env),
            kms_key_arn=env_optional("BACKUP_KMS_KEY_ARN", env=env),
            # S3 rejects multipart parts below 5 MiB, except the last one.
            part_size_mib=env_int_field(
                cls, "part_size_mib", "BACKUP_PART_SIZE_MIB", minimum=5, env=env
            ),
            compression_level=level,
            statement_timeout_ms=env_int_field(
                cls, "statement_timeout_ms", "BACKUP_STATEMENT_TIMEOUT_MS", env=env
            ),
        )
