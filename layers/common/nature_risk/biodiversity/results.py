"""Size bounds shared by the mining and agriculture dashboards' JSON results.

A dashboard must fit in one Lambda response (6 MB). ``check_row_count``
rejects uploads over a module's row limit, ``listed_problems`` caps per-row
problem lists and ``check_response_size`` rejects a result that is still too
large.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from nature_risk.errors import PayloadTooLarge, Problem

# How many row problems (warnings, unresolved names) a dashboard lists.
MAX_LISTED_PROBLEMS = 1_000
# Lambda's limit on a synchronous response is 6 MB, envelope included.
MAX_RESPONSE_BYTES = 6_000_000
# Room left in the envelope for the status code and headers around the body.
ENVELOPE_RESERVE_BYTES = 16_000


def listed_problems(key: str, problems: Sequence[Problem]) -> dict[str, object]:
    """Return ``key`` with the first problems, ``key_total`` and ``key_truncated``."""
    return {
        key: [problem.to_dict() for problem in problems[:MAX_LISTED_PROBLEMS]],
        f"{key}_total": len(problems),
        f"{key}_truncated": len(problems) > MAX_LISTED_PROBLEMS,
    }


def check_row_count(count: int, limit: int, variable: str, noun: str) -> None:
    """Raise ``PayloadTooLarge`` naming the limit when ``count`` is over it."""
    if count > limit:
        raise PayloadTooLarge(
            f"The portfolio has more than the limit of {limit} {noun} "
            f"({variable}): split it into smaller portfolios."
        )


def check_response_size(body: str) -> None:
    """Raise ``PayloadTooLarge`` when a response body would exceed Lambda's 6 MB.

    Lambda counts the response envelope, where the body is a JSON string
    with its quotes and backslashes escaped, so the escaped length is checked,
    with ``ENVELOPE_RESERVE_BYTES`` kept for the headers.
    Within the row limits, only long names or companies echoed from the
    upload can reach it.
    """
    if len(json.dumps(body)) > MAX_RESPONSE_BYTES - ENVELOPE_RESERVE_BYTES:
        raise PayloadTooLarge(
            f"The dashboard would be larger than the {MAX_RESPONSE_BYTES} bytes "
            "a response may hold: send fewer rows or shorter names."
        )
