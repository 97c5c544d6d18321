"""Run every benchmark module (``bench/bench_*.py``) and write docs/benchmarks.md.

Each module exposes ``run() -> str`` returning a Markdown section with its
figures and the target it checks. All sections come from one run on one machine.
"""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
OUTPUT = BENCH_DIR.parent / "docs" / "benchmarks.md"
# Benchmarks import the layer package as the functions do.
sys.path.insert(0, str(BENCH_DIR.parent / "layers" / "common"))


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"- Date: {datetime.date.today().isoformat()}\n"
        f"- CPU: {cpu}, {os.cpu_count()} cores\n"
        f"- Python: {platform.python_version()} ({sys.executable.split('/')[-3]})\n"
        f"- Command: `make bench`\n"
    )


def main(selected: list[str]) -> None:
    """Run the selected benchmark modules (all by default) and write the page."""
    names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    if selected:
        names = [name for name in names if any(part in name for part in selected)]
    sections = []
    for name in names:
        print(f"running {name} ...", flush=True)
        module = importlib.import_module(f"bench.{name}")
        sections.append(module.run())
    page = (
        "# Benchmarks\n\n"
        "Every figure on this page comes from one run of `make bench` on the machine "
        "below. Ratios compare the product with a bare baseline measured in the same "
        "run, so they carry over between machines better than the absolute times.\n\n"
        + _machine()
        + "\n"
        + "\n\n".join(sections)
        + "\n"
    )
    OUTPUT.write_text(page)
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
