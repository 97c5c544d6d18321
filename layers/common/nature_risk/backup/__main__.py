"""Command line for snapshots: list, verify, restore, and take one now.

Run ``python -m nature_risk.backup --help`` (``make restore`` wraps the
restore command). The bucket comes from ``BACKUP_BUCKET`` and the target
database from the ``DB_*`` variables, as for the functions. AWS credentials,
region and endpoint come from the usual AWS SDK settings.

Exit status: 0 on success, 1 when a snapshot or the restore target is
rejected (the message names the cause), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
import botocore.exceptions
import pg8000.native

from nature_risk.backup.errors import BackupError
from nature_risk.backup.job import (
    backup_database_settings,
    snapshot_id_from_event,
    snapshot_target,
)
from nature_risk.backup.reader import (
    ProgressCallback,
    latest_complete_snapshot,
    list_snapshots,
    load_manifest,
    unnamed_objects,
    verify_snapshot,
)
from nature_risk.backup.restore import RestoreOptions, restore_snapshot
from nature_risk.backup.snapshot import take_snapshot
from nature_risk.config import ConfigurationError
from nature_risk.config.backup import BackupSettings
from nature_risk.config.database import DatabaseSettings
from nature_risk.errors import NatureRiskError
from nature_risk.storage.db import (
    CertificateVerificationFailed,
    open_connection,
    sqlstate_of,
)

LATEST = "latest"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nature_risk.backup",
        description="List, verify and restore database snapshots in BACKUP_BUCKET.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="list every snapshot, oldest first")

    verify = commands.add_parser(
        "verify",
        help="check a snapshot's manifest, objects, sizes, SHA-256 and row counts",
    )
    verify.add_argument(
        "snapshot_id",
        nargs="?",
        default=LATEST,
        help="snapshot id (YYYYMMDDTHHMMSSZ) or 'latest' (the default)",
    )
    verify.add_argument(
        "--all",
        action="store_true",
        help="verify every complete snapshot and list incomplete ones as skipped",
    )
    _add_progress_flag(verify)

    restore = commands.add_parser(
        "restore", help="verify a snapshot and load it into the DB_* database"
    )
    restore.add_argument("snapshot_id", help="snapshot id or 'latest'")
    restore.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the rows of a non-empty target instead of rejecting it",
    )
    restore.add_argument(
        "--no-verify-first",
        action="store_true",
        help="skip the full read before loading (loading still checks SHA-256)",
    )
    restore.add_argument(
        "--ignore-snapshot",
        action="append",
        default=[],
        metavar="SNAPSHOT_ID",
        help="do not read deletion records from this later snapshot (repeatable)",
    )
    restore.add_argument(
        "--deletions-from-env",
        metavar="PREFIX",
        help=(
            "also apply the deletion records of the current database, reached "
            "through the variables PREFIX + DB_HOST, PREFIX + DB_NAME, ..."
        ),
    )
    _add_progress_flag(restore)

    commands.add_parser("snapshot", help="take a snapshot of the DB_* database now")
    return parser


def _add_progress_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-progress", action="store_true", help="print no progress bar"
    )


@contextlib.contextmanager
def _progress_bar(total: int, enabled: bool) -> Iterator[ProgressCallback | None]:
    """Show a byte progress bar on stderr; it prints counts, never row contents."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    with tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr
    ) as bar:
        yield bar.update


def _database_settings(
    backup: BackupSettings, env: Mapping[str, str] | None = None
) -> DatabaseSettings:
    return backup_database_settings(DatabaseSettings.from_env(env), backup)


def _prefixed_env(prefix: str) -> dict[str, str]:
    env = {
        name[len(prefix) :]: value
        for name, value in os.environ.items()
        if name.startswith(prefix)
    }
    if "AWS_REGION" in os.environ:
        env.setdefault("AWS_REGION", os.environ["AWS_REGION"])
    return env


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _resolve_id(s3: Any, bucket: str, snapshot_id: str) -> str:
    if snapshot_id == LATEST:
        return latest_complete_snapshot(s3, bucket)
    return snapshot_id


def _list(s3: Any, settings: BackupSettings) -> int:
    _out("snapshot_id\tstatus\tschema_version\ttables\trows\tbytes")
    for item in list_snapshots(s3, settings.bucket):
        if not item.complete:
            _out(f"{item.snapshot_id}\tincomplete\t-\t-\t-\t-")
            continue
        manifest = load_manifest(s3, settings.bucket, item.snapshot_id)
        _out(
            f"{item.snapshot_id}\tcomplete\t{manifest.schema_version}\t"
            f"{len(manifest.tables)}\t{manifest.total_rows}\t{manifest.total_size}"
        )
    return 0


def _verify(s3: Any, settings: BackupSettings, args: argparse.Namespace) -> int:
    if args.all:
        # An incomplete prefix is an attempt that never wrote a manifest, not
        # a damaged snapshot, so it is reported and does not fail the run.
        ids = []
        for item in list_snapshots(s3, settings.bucket):
            if item.complete:
                ids.append(item.snapshot_id)
            else:
                _out(f"snapshot {item.snapshot_id} skipped: incomplete (no manifest)")
    else:
        ids = [_resolve_id(s3, settings.bucket, args.snapshot_id)]
    failures = 0
    for snapshot_id in ids:
        try:
            manifest = load_manifest(s3, settings.bucket, snapshot_id)
            with _progress_bar(manifest.total_size, not args.no_progress) as bar:
                result = verify_snapshot(s3, settings.bucket, snapshot_id, bar)
        except BackupError as error:
            failures += 1
            sys.stderr.write(f"FAILED: {error.message}\n")
            continue
        _out(
            f"snapshot {snapshot_id} verified: {result.objects} objects, "
            f"{result.bytes_checked} bytes, {result.manifest.total_rows} rows"
        )
        unnamed = unnamed_objects(s3, settings.bucket, result.manifest)
        if unnamed:
            sys.stderr.write(
                f"WARNING: snapshot {snapshot_id}: its manifest does not name "
                f"{len(unnamed)} object(s) under its prefix, for example "
                f"{unnamed[0]}; a restore ignores them\n"
            )
    return 1 if failures else 0


def _restore(s3: Any, settings: BackupSettings, args: argparse.Namespace) -> int:
    snapshot_id = _resolve_id(s3, settings.bucket, args.snapshot_id)
    manifest = load_manifest(s3, settings.bucket, snapshot_id)
    options = RestoreOptions(
        overwrite=args.overwrite,
        verify_first=not args.no_verify_first,
        ignore_snapshots=frozenset(args.ignore_snapshot),
        migrations_dir=_database_settings(settings).migrations_dir,
    )
    passes = 2 if options.verify_first else 1
    current = None
    if args.deletions_from_env:
        env = _prefixed_env(args.deletions_from_env)
        current = open_connection(DatabaseSettings.from_env(env))
    target = open_connection(_database_settings(settings))
    try:
        with _progress_bar(passes * manifest.total_size, not args.no_progress) as bar:
            result = restore_snapshot(
                target,
                s3,
                settings.bucket,
                snapshot_id,
                options=options,
                current_database=current,
                progress=bar,
            )
    finally:
        with contextlib.suppress(Exception):
            target.close()
        if current is not None:
            with contextlib.suppress(Exception):
                current.close()
    _out(
        f"snapshot {snapshot_id} restored: {sum(result.rows.values())} rows in "
        f"{len(result.rows)} tables; {result.deletion_records} deletion records "
        f"from {', '.join(result.deletion_sources) or 'no other source'}; "
        f"{result.portfolios_deleted} deleted portfolios removed"
    )
    return 0


def _snapshot(s3: Any, settings: BackupSettings) -> int:
    target = snapshot_target(settings)
    snapshot_id = snapshot_id_from_event({})
    connection = open_connection(_database_settings(settings))
    try:
        result = take_snapshot(connection, s3, target, snapshot_id)
    finally:
        connection.close()
    _out(
        f"snapshot {snapshot_id} "
        f"{'written' if result.created else 'already complete'}: "
        f"{len(result.manifest.tables)} tables, {result.manifest.total_rows} rows, "
        f"{result.manifest.total_size} bytes"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return the process exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = BackupSettings.from_env()
        s3 = boto3.client("s3")
        if args.command == "list":
            return _list(s3, settings)
        if args.command == "verify":
            return _verify(s3, settings, args)
        if args.command == "restore":
            return _restore(s3, settings, args)
        return _snapshot(s3, settings)
    except CertificateVerificationFailed:
        sys.stderr.write(
            "ERROR: certificate verification failed for the database connection: "
            "check that DB_CA_BUNDLE contains the CA that signed the server's "
            "certificate and that DB_HOST matches a name in that certificate\n"
        )
        return 1
    except (NatureRiskError, ConfigurationError) as error:
        message = error.message if isinstance(error, NatureRiskError) else str(error)
        sys.stderr.write(f"ERROR: {message}\n")
        return 1
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        sys.stderr.write(f"ERROR: S3 rejected the request ({code})\n")
        return 1
    except botocore.exceptions.BotoCoreError as error:
        # Raised before S3 responds: no credentials, no region or no connection.
        sys.stderr.write(f"ERROR: the S3 request failed before S3 responded: {error}\n")
        return 1
    except pg8000.native.DatabaseError as error:
        # The server's message can quote a row's values, so only the SQLSTATE
        # is printed.
        sys.stderr.write(
            f"ERROR: the database rejected a statement (SQLSTATE "
            f"{sqlstate_of(error)}); the transaction it ran in was rolled back\n"
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
