"""Matching unit names against the unit directory: one key per spelling of a name."""

from __future__ import annotations

import re
import unicodedata

# Bracket kinds documents use inside names ("各镇<街道>", "〔市〕"), all read as round brackets.
BRACKETS = str.maketrans("<>〈〉《》〔〕[]【】{}", "()()()()()()()")
SPACE = re.compile(r"\s+")


def name_key(name: str) -> str:
    """The directory key of a unit name: width, spacing and bracket kind do not matter."""
    folded = unicodedata.normalize("NFKC", name).translate(BRACKETS)
    return SPACE.sub("", folded)


def display_name(name: str) -> str:
    """A unit name as the directory shows it: trimmed, inner spacing removed."""
    return SPACE.sub("", unicodedata.normalize("NFKC", name).strip())
