"""Find text that UTF-8 cannot encode, or other unwanted text, in parsed JSON.

JSON may spell an unpaired UTF-16 surrogate as ``\\ud800``, and Python's
``json`` module decodes it, and the raw bytes ``ED A0 80``, into a lone
surrogate. No UTF-8 encoder accepts such a string: the database driver
raises ``UnicodeEncodeError`` on it. Request parsers therefore reject it,
naming where it sits.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# A JSON escape of a surrogate, or a surrogate encoded as three UTF-8 bytes
# (CESU-8), which json.loads decodes with "surrogatepass". A body without
# either contains no surrogate, so the document need not be walked.
_SURROGATE_IN_BODY = re.compile(rb"\\u[dD][89abcdefABCDEF]|\xed[\xa0-\xbf]")

JsonPath = tuple[str | int, ...]


def is_utf8_encodable(text: str) -> bool:
    """Tell whether ``text`` encodes as UTF-8, which fails on lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def may_contain_surrogate(body: bytes) -> bool:
    """Tell whether a JSON body may decode to a string with a surrogate."""
    return _SURROGATE_IN_BODY.search(body) is not None


def first_string_path(
    document: object, matches: Callable[[str], bool]
) -> JsonPath | None:
    """Return the path to the first key or string for which ``matches`` is true.

    The path lists object keys and list indexes from the top. For a matching
    key it ends with that key, so callers must not echo the last element.
    Returns None when nothing matches.
    """
    stack: list[tuple[JsonPath, object]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if matches(value):
                return path
        elif isinstance(value, dict):
            children = []
            for key, child in value.items():
                if isinstance(key, str) and matches(key):
                    return (*path, key)
                children.append(((*path, key), child))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(
                ((*path, index), child)
                for index, child in reversed(list(enumerate(value)))
            )
    return None


def unencodable_path(document: object) -> JsonPath | None:
    """Return the path to the first key or string that UTF-8 cannot encode."""
    return first_string_path(document, lambda text: not is_utf8_encodable(text))
