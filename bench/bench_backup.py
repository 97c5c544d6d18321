"""Benchmark the backup function: throughput against pg_dump, and peak memory.

One run starts a TLS-only PostgreSQL server and a moto server (S3, KMS,
Secrets Manager) on 127.0.0.1. It fills the real schema with generated saved
portfolios to 10, 100 and 1,000 MB (``pg_database_size``). At each size it runs
the backup function's real ``lambda_handler`` in a fresh Python subprocess, so
the figures are that process's own: wall time, peak RSS, RSS growth over the
state just before the call, and the tracemalloc peak. At the largest size it
also times ``pg_dump -Fc`` (gzip at its default level, written to a local
file) of the same database.

Targets: snapshot throughput at least 0.8x pg_dump's, and peak memory under
150 MB and flat: from 100 to 1,000 MB of database it grows by less than 2% of
the added size.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SIZES_MB = (10, 100, 1000)
THROUGHPUT_TARGET = 0.8
MEMORY_TARGET_MB = 150
FLAT_MB_PER_DATABASE_MB = 0.02
REGION = "eu-west-1"
BUCKET = "nature-risk-bench-backups"
HOLDINGS_PER_PORTFOLIO = 50
# Measured on this schema: one portfolio with 50 holdings takes about 11 KB
# of table and index space. Used only to size each fill step.
BYTES_PER_PORTFOLIO = 11_000

FILL_SQL = """
WITH new AS (
    INSERT INTO portfolios (id, owner_sub, name, module, currency,
                            holdings_count, version, created_at, updated_at)
    SELECT gen_random_uuid(), 'user-' || (i % 500), 'Portfolio ' || i,
           'natural_capital', 'EUR', CAST(:holdings AS integer), 1, now(), now()
    FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i
    RETURNING id
)
INSERT INTO holdings (portfolio_id, position, data)
SELECT new.id, h, jsonb_build_object(
    'row', h + 2,
    'code', 'C_10_' || (100 + h),
    'amount', round((random() * 1e7)::numeric, 2),
    'name', 'Company ' || md5(new.id::text || h))
FROM new, generate_series(0, CAST(:holdings AS integer) - 1) AS h
"""


def _database_size(connection: Any) -> int:
    return int(connection.run("SELECT pg_database_size(current_database())")[0][0])


def _fill_to(connection: Any, target_bytes: int, next_number: int) -> int:
    """Add portfolios until the database reaches ``target_bytes``; return the
    next free portfolio number."""
    while (current := _database_size(connection)) < target_bytes:
        count = max(20, (target_bytes - current) // BYTES_PER_PORTFOLIO)
        count = min(count, 5_000)
        connection.run(
            FILL_SQL,
            first=next_number,
            last=next_number + count - 1,
            holdings=HOLDINGS_PER_PORTFOLIO,
        )
        next_number += count
    return next_number


def _aws_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }


def _prepare_aws(endpoint: str, server: Any) -> dict[str, str]:
    """Create the bucket, key and secret; return the function's environment."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
    )
    kms = session.client("kms", endpoint_url=endpoint)
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    s3.put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    secret = secrets.create_secret(
        Name="bench/database",
        SecretString=json.dumps({"username": server.user, "password": server.password}),
    )
    return {
        **_aws_environment(endpoint),
        "BACKUP_BUCKET": BUCKET,
        "BACKUP_KMS_KEY_ARN": key_arn,
        "DB_HOST": "localhost",
        "DB_PORT": str(server.port),
        "DB_NAME": server.database,
        "DB_SECRET_ARN": secret["ARN"],
        "DB_CA_BUNDLE": str(server.ca_file),
        "POWERTOOLS_SERVICE_NAME": "backup",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "NatureRiskBench",
    }


def _run_function(env: dict[str, str], snapshot_time: str, trace: bool) -> dict:
    """Invoke the handler in a fresh interpreter and return its measurements."""
    command = [sys.executable, "-m", "bench.bench_backup", "--worker", snapshot_time]
    if trace:
        command.append("--tracemalloc")
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, **env, "PYTHONPATH": "layers/common:."},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the backup worker failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _time_pg_dump(server: Any, output: Path) -> float:
    env = {
        **os.environ,
        "PGPASSWORD": server.password,
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(server.ca_file),
    }
    started = time.perf_counter()
    subprocess.run(
        ["pg_dump", "-h", "localhost", "-p", str(server.port), "-U", server.user]
        + ["-Fc", "-f", str(output), server.database],
        env=env,
        check=True,
    )
    return time.perf_counter() - started


def _compare_with_pg_dump(
    env: dict[str, str],
    server: Any,
    workdir: Path,
    database_bytes: int,
    first: dict,
) -> str:
    """Time pg_dump twice and the function once more, interleaved, and compare
    the best time of each, so a burst of load from other processes on the
    machine skews the ratio less."""
    dump_file = workdir / "bench.dump"
    dumps = [_time_pg_dump(server, dump_file)]
    second = _run_function(env, "2026-01-01T01:00:00Z", trace=False)
    dumps.append(_time_pg_dump(server, dump_file))
    ours = [first["seconds"], second["seconds"]]
    ratio = min(dumps) / min(ours)
    verdict = "meets" if ratio >= THROUGHPUT_TARGET else "misses"
    return (
        f"At {_mb(database_bytes)} MB the backup function took "
        f"{' and '.join(f'{value:.1f}' for value in ours)} s "
        f"({_mb(first['bytes'])} MB written to S3), and `pg_dump -Fc` took "
        f"{' and '.join(f'{value:.1f}' for value in dumps)} s "
        f"({_mb(dump_file.stat().st_size)} MB written to a local file). Best "
        f"against best, that is **{ratio:.2f}x** pg_dump's throughput, which "
        f"{verdict} the {THROUGHPUT_TARGET}x target.\n"
    )


def _status_kib(field: str) -> int:
    """Read a memory field (``VmRSS``, ``VmHWM``) of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def _worker(snapshot_time: str, trace: bool) -> None:
    """Run inside the measured subprocess: one scheduled invocation."""
    import tracemalloc

    from tests.functions import load_function

    app = load_function("backup")
    baseline_kib = _status_kib("VmRSS")
    if trace:
        tracemalloc.start()
    event = {"id": f"bench-{snapshot_time}", "time": snapshot_time}
    started = time.perf_counter()
    summary = app.lambda_handler(event, None)
    seconds = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    # VmHWM is the peak RSS of this process's own address space. ru_maxrss
    # would not do: after fork and exec, Linux carries the parent's peak over.
    peak_kib = _status_kib("VmHWM")
    sys.stdout.write(
        json.dumps(
            {
                "seconds": seconds,
                "baseline_kib": baseline_kib,
                "peak_kib": peak_kib,
                "traced_peak_bytes": traced_peak,
                "bytes": summary["bytes"],
                "rows": summary["rows"],
            }
        )
        + "\n"
    )


def memory_summary(peaks: list[float], database_mb: list[float]) -> str:
    """Judge the peaks (MB) measured at each database size (MB) against the
    memory target, as one Markdown paragraph.

    Memory that scaled with the data would grow with every added megabyte.
    Flat means the step between the two largest sizes adds less than
    ``FLAT_MB_PER_DATABASE_MB`` of peak RSS per added database megabyte. The
    smallest snapshot never fills one part, so its peak is lower and is left
    out of that step.
    """
    growth = peaks[-1] - peaks[-2]
    added = database_mb[-1] - database_mb[-2]
    flat = growth < FLAT_MB_PER_DATABASE_MB * added
    verdict = "meets" if max(peaks) < MEMORY_TARGET_MB and flat else "misses"
    return (
        f"From {database_mb[-2]:,.0f} to {database_mb[-1]:,.0f} MB of database the "
        f"peak RSS changes by {growth:+.0f} MB (flat means less than "
        f"{FLAT_MB_PER_DATABASE_MB * added:.0f} MB, "
        f"{FLAT_MB_PER_DATABASE_MB:.0%} of the added size). The highest peak "
        f"is {max(peaks):.0f} MB, so this {verdict} the target of flat memory under "
        f"{MEMORY_TARGET_MB} MB. The {database_mb[0]:,.0f} MB snapshot stays below "
        "one 8 MiB part, so its peak is lower.\n"
    )


def _mb(value: float) -> str:
    return f"{value / 1_000_000:,.1f}"


def run() -> str:
    """Fill, snapshot and measure at each size; return the Markdown section."""
    import pg8000.native  # noqa: F401 - fail early when the driver is missing
    from moto.server import ThreadedMotoServer

    from infra.local.postgres import free_port, start_postgres

    sys.path.insert(0, str(REPO_ROOT / "layers" / "common"))
    from nature_risk.storage.migrations import apply_migrations

    workdir = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    server = start_postgres(workdir)
    # moto's server logs one line per request through werkzeug.
    logging.getLogger("werkzeug").disabled = True
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    moto.start()
    rows: list[str] = []
    comparison = ""
    try:
        host, port = moto.get_host_and_port()
        env = _prepare_aws(f"http://{host}:{port}", server)
        # Filling and VACUUM take longer than the default 30 s socket timeout.
        connection = server.connect(timeout=None)
        apply_migrations(connection)
        next_number = 1
        peaks: list[float] = []
        database_sizes: list[float] = []
        for index, size_mb in enumerate(SIZES_MB):
            next_number = _fill_to(connection, size_mb * 1_000_000, next_number)
            connection.run("VACUUM ANALYZE")
            database_bytes = _database_size(connection)
            # Snapshot ids are whole seconds, so each run gets its own minute.
            minute = f"2026-01-01T00:{index * 2:02d}:00Z"
            timed = _run_function(env, minute, trace=False)
            traced_minute = f"2026-01-01T00:{index * 2 + 1:02d}:00Z"
            traced = _run_function(env, traced_minute, trace=True)
            peak_mb = timed["peak_kib"] * 1024 / 1_000_000
            peaks.append(peak_mb)
            database_sizes.append(database_bytes / 1e6)
            growth_mb = (timed["peak_kib"] - timed["baseline_kib"]) * 1024 / 1e6
            rows.append(
                f"| {_mb(database_bytes)} | {timed['rows']:,} | {_mb(timed['bytes'])} "
                f"| {timed['seconds']:.1f} | {traced['seconds']:.1f} "
                f"| {database_bytes / timed['seconds'] / 1e6:.1f} "
                f"| {peak_mb:.0f} | {growth_mb:.0f} "
                f"| {traced['traced_peak_bytes'] / 1e6:.1f} |"
            )
            if size_mb == SIZES_MB[-1]:
                comparison = _compare_with_pg_dump(
                    env, server, workdir, database_bytes, timed
                )
        connection.close()
    finally:
        moto.stop()
        server.stop()
    return (
        "## Backup snapshots\n\n"
        "`bench/bench_backup.py`: the backup function's `lambda_handler` in a fresh "
        "subprocess against a local TLS PostgreSQL 15 and a moto server on "
        "127.0.0.1 (S3 multipart uploads of 8 MiB, gzip level 1, the defaults). "
        "Database size is `pg_database_size` (tables and indexes) of generated saved "
        "portfolios with 50 holdings each. Peak RSS is the process's "
        "`VmHWM`; growth is peak RSS minus RSS just before the call; the "
        "traced peak is tracemalloc's, from a second run with tracing on.\n\n"
        "| database (MB) | rows | snapshot (MB) | time (s) | traced run (s) "
        "| throughput (MB/s) | peak RSS (MB) | RSS growth (MB) | traced peak (MB) |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        + "\n".join(rows)
        + "\n\n"
        + comparison
        + "\n"
        + memory_summary(peaks, database_sizes)
    )


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], "--tracemalloc" in sys.argv[3:])
    else:
        sys.stdout.write(run())
