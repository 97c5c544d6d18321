"""The local stand-ins for the AWS services the signed-in routes use.

``start_local_backends`` starts a TLS-only PostgreSQL with the migrations
applied and a moto server on 127.0.0.1 for AWS APIs. It stores the database
credentials as a Secrets Manager secret in moto, then sets the ``DB_*`` and
AWS variables of this process, so the functions find both as in AWS.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer
from nature_risk.storage.migrations import apply_migrations

from infra.local.postgres import HOST, PostgresServer, free_port, start_postgres

LOCAL_REGION = "eu-west-1"
SECRET_NAME = "nature-risk/local/database"


@dataclass
class LocalBackends:
    """The running local database and AWS endpoint, and the variables they need."""

    postgres: PostgresServer
    aws: ThreadedMotoServer
    secret_arn: str
    environment: dict[str, str] = field(default_factory=dict)

    def stop(self, *, keep_postgres_log: Path | None = None) -> None:
        """Stop moto and the database, copying its log to ``keep_postgres_log``."""
        self.aws.stop()
        self.postgres.stop(keep_log=keep_postgres_log)


def start_local_backends(workdir: Path) -> LocalBackends:
    """Start PostgreSQL and moto, store the secret, and export the settings."""
    postgres = start_postgres(workdir / "postgres")
    try:
        connection = postgres.connect()
        try:
            apply_migrations(connection)
        finally:
            connection.close()

        aws_port = free_port()
        # werkzeug, which serves moto, prints an access line for every AWS
        # call the functions make; warnings and errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        aws = ThreadedMotoServer(ip_address=HOST, port=aws_port, verbose=False)
        aws.start()
    except BaseException:
        postgres.stop()
        raise

    environment = {
        "AWS_ENDPOINT_URL": f"http://{HOST}:{aws_port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": LOCAL_REGION,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
    }
    os.environ.update(environment)
    client = boto3.client("secretsmanager", region_name=LOCAL_REGION)
    secret = client.create_secret(
        Name=SECRET_NAME, SecretString=postgres.secret_string()
    )
    environment.update(postgres.environment())
    environment["DB_SECRET_ARN"] = secret["ARN"]
    os.environ.update(environment)
    return LocalBackends(postgres, aws, secret["ARN"], environment)
