"""Dashboard options and flags as requests send them, in the body or a query string.

Every dashboard parser validates the body's ``options`` with
``read_options``, so invalid options get the same 400 on every dashboard
route. The public dashboard routes and the saved-portfolio routes read flags
with ``parse_flag``, so a flag means the same on both.
"""

from __future__ import annotations

import math

from nature_risk.errors import InputError, Problem
from nature_risk.json_input import load_json

MAX_OPTIONS = 32

# The words the query string's bool parameters take (pydantic's), so a flag
# reads the same in the body and the query. An empty value is rejected in both.
TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "on"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "off"})


def parse_flag(value: object, name: str) -> bool:
    """Read an option flag from a JSON value or text (true/false, 1/0, yes/no)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
    raise InputError(
        f"The option '{name}' must be true or false.",
        [Problem(reason="must be true or false", field=name)],
    )


def read_options(raw: object) -> tuple[dict[str, object], list[Problem]]:
    """Validate dashboard options: an object of flags, numbers and strings.

    ``raw`` is the body's ``options`` value, or the JSON text of the
    multipart form field. Returns the options and the problems found.
    Raises ``JsonNestingError`` when JSON text of options is nested too deeply.
    """
    if raw is None or raw == "":
        return {}, []
    if isinstance(raw, str):
        try:
            raw = load_json(raw, field="options")
        except ValueError:
            return {}, [
                Problem(reason="options must be a JSON object", field="options")
            ]
    if not isinstance(raw, dict):
        return {}, [Problem(reason="options must be an object", field="options")]
    if len(raw) > MAX_OPTIONS:
        return {}, [
            Problem(
                reason=f"options has more than {MAX_OPTIONS} fields", field="options"
            )
        ]
    if not all(_is_option_value(value) for value in raw.values()):
        # The keys are user input, so the problem names only the object.
        return {}, [
            Problem(
                reason="option values must be true, false, numbers or strings",
                field="options",
            )
        ]
    return dict(raw), []


def _is_option_value(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, bool | int | str)
