"""Backup function: on an EventBridge schedule, snapshot the database to S3.

The handler only wires settings, the S3 client and the database connection
into ``nature_risk.backup.job``. A failure raises, so the schedule's retry and
dead-letter settings apply, and the log carries the error class alone.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from nature_risk.backup.job import backup_database_settings, run_job
from nature_risk.config.backup import BackupSettings
from nature_risk.config.database import DatabaseSettings
from nature_risk.observability import get_logger, lambda_entry
from nature_risk.storage.db import open_connection

logger = get_logger("backup")

# Read at cold start, so a bad variable fails the first invocation by name.
SETTINGS = BackupSettings.from_env()
DATABASE = backup_database_settings(DatabaseSettings.from_env(), SETTINGS)
S3 = boto3.client("s3")


@lambda_entry(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # One connection per invocation: a schedule hours apart would find a
    # warm container's idle connection closed.
    return run_job(event, SETTINGS, S3, lambda: open_connection(DATABASE))
