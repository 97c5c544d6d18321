"""Peak memory and duration of the dashboard function's largest requests.

template.yaml sizes the dashboard function's MemorySize and Timeout from these
figures. Each case runs in a fresh Python process, because the peak resident
set size (``VmHWM``) of a process only grows. A case imports the handler,
calls it once with ``GET /health`` (the cold start) and then once with the
largest body ``MAX_BODY_BYTES`` allows for its route.

Run alone with ``python -m bench.bench_function_sizing``.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "template.yaml"
# The default MAX_BODY_BYTES (4 MiB) less room for the header row.
BODY_BYTES = 4_000_000
MAX_ROWS = 100_000
# HTTP API integrations time out after 30 seconds.
API_TIMEOUT_SECONDS = 30
CASES = ("health", "natural-capital", "mining", "agriculture")
NATURAL_CAPITAL_CODES = ("A_1_11_111", "0141", "10.20", "0111", "2410", "C1104")


def _peak_mib() -> float:
    # VmHWM is the peak of this process's own memory map. ru_maxrss is not:
    # Linux carries the parent's peak into a forked child across exec.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _csv_body(module: str, dashboard, context) -> tuple[bytes, int]:
    """Build a body of the module's CSV rows, repeated up to BODY_BYTES."""
    from infra.local.events import build_http_api_event

    if module == "natural-capital":
        header = "name,code,amount"
        rows = [
            f"Holding {index},{code},{1000 + index}"
            for index, code in enumerate(NATURAL_CAPITAL_CODES)
        ]
    else:
        event = build_http_api_event(
            "GET",
            f"/templates/{module}.csv",
            route_key="GET /templates/{module}",
            path_parameters={"module": f"{module}.csv"},
        )
        response = dashboard.lambda_handler(event, context)
        raw = response["body"]
        if response.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode("utf-8")
        lines = raw.lstrip("\ufeff").strip().splitlines()
        header, rows = lines[0], lines[1:]
    average = sum(len(row) + 1 for row in rows) / len(rows)
    count = min(MAX_ROWS, int((BODY_BYTES - len(header)) / average))
    body = "\n".join([header] + [rows[index % len(rows)] for index in range(count)])
    return body.encode("utf-8"), count


def measure(case: str) -> dict[str, float | int | str]:
    """Run one case in this process and return its figures."""
    for path in (REPO_ROOT / "layers" / "common", REPO_ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from infra.local.events import LambdaContext, build_http_api_event
    from tests.functions import load_function

    started = time.perf_counter()
    dashboard = load_function("dashboard")
    context = LambdaContext("dashboard", memory_limit_in_mb=1769, timeout_seconds=60)
    health = build_http_api_event("GET", "/health", route_key="GET /health")
    status = dashboard.lambda_handler(health, context)["statusCode"]
    cold_seconds = time.perf_counter() - started
    result: dict[str, float | int | str] = {
        "case": case,
        "cold_seconds": cold_seconds,
        "status": status,
    }
    if case != "health":
        body, rows = _csv_body(case, dashboard, context)
        path = f"/dashboards/{case}"
        event = build_http_api_event(
            "POST",
            path,
            route_key=f"POST {path}",
            headers={"content-type": "text/csv"},
            body=body,
        )
        started = time.perf_counter()
        result["status"] = dashboard.lambda_handler(event, context)["statusCode"]
        result["request_seconds"] = time.perf_counter() - started
        result["rows"] = rows
        result["body_mib"] = len(body) / 2**20
    result["peak_mib"] = _peak_mib()
    return result


def _run_case(case: str) -> dict[str, float | int | str]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_function_sizing", "--case", case],
        cwd=REPO_ROOT,
        env={**os.environ, "POWERTOOLS_METRICS_DISABLED": "true"},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    # The handler also logs JSON lines to stdout, so the figures are the last line.
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _template_settings() -> tuple[int, int]:
    from cfnlint.decode import cfn_yaml

    dashboard = cfn_yaml.load(str(TEMPLATE))["Resources"]["DashboardFunction"]
    return dashboard["Properties"]["MemorySize"], dashboard["Properties"]["Timeout"]


def run() -> str:
    """Measure every case and return the Markdown section."""
    results = [_run_case(case) for case in CASES]
    memory_mb, timeout_seconds = _template_settings()
    lines = [
        "## Dashboard function: peak memory and duration",
        "",
        "Each case is a fresh process that imports the handler, answers "
        "`GET /health` (the cold start) and then one request with the largest "
        f"CSV body the default `MAX_BODY_BYTES` allows (about {BODY_BYTES:,} "
        f"bytes, at most {MAX_ROWS:,} rows). template.yaml gives the function "
        f"{memory_mb} MB and a {timeout_seconds} s timeout, and the HTTP API "
        f"stops waiting after {API_TIMEOUT_SECONDS} s.",
        "",
        "| Case | Rows | Body (MiB) | Status | Cold start (s) | Request (s) "
        "| Peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        rows = result.get("rows", "")
        body = f"{result['body_mib']:.1f}" if "body_mib" in result else ""
        request = (
            f"{result['request_seconds']:.2f}" if "request_seconds" in result else ""
        )
        lines.append(
            f"| {result['case']} | {rows} | {body} | {result['status']} "
            f"| {result['cold_seconds']:.2f} | {request} | {result['peak_mib']:.0f} |"
        )
    peak = max(float(result["peak_mib"]) for result in results)
    slowest = max(float(result.get("request_seconds", 0.0)) for result in results)
    memory_verdict = "met" if peak * 2 <= memory_mb else "missed"
    time_verdict = "met" if slowest * 1.5 <= timeout_seconds else "missed"
    lines += [
        "",
        f"Target: the peak is at most half of MemorySize ({memory_verdict}: "
        f"{peak:.0f} MiB of {memory_mb} MB), and the slowest request takes at "
        f"most two thirds of the timeout ({time_verdict}: {slowest:.1f} s of "
        f"{timeout_seconds} s). Lambda gives a function one vCPU at 1769 MB and "
        "more only as extra cores, which single-threaded Python code does not use.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(json.dumps(measure(sys.argv[2])))
    else:
        print(run())
