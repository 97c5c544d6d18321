"""Normalisation of free-text names (countries, commodities) for forgiving matching."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_name(text: str) -> str:
    """Return ``text`` folded for matching: no accents, case, punctuation or "the".

    "Côte d'Ivoire", "COTE D IVOIRE" and "the Côte-d'Ivoire" all become
    "cote d ivoire", and "U.K." becomes "uk".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    folded = plain.casefold().replace("&", " and ").replace("’", "'")
    # Dots join the letters of an abbreviation: "U.S.A." is "usa", not "u s a".
    folded = folded.replace(".", "")
    words = _NON_ALNUM.sub(" ", folded).split()
    if words and words[0] == "the":
        words = words[1:]
    if words and words[-1] == "the":
        words = words[:-1]
    return " ".join(words)
