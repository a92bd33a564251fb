"""Keys for matching unit names against the unit directory.

Two spellings of one unit should meet: widths and bracket kinds differ between documents
(`各镇<街道>` / `各镇（街道）`), and official short forms drop linking words
(`省发展和改革委员会` / `省发展改革委`). Abbreviations that pick characters (`工信`, `发改`)
are not derived here: they belong in the directory as aliases, because `经信厅` and
`工信厅` look alike and are not the same.
"""

from __future__ import annotations

import re
import unicodedata

_BRACKETS = str.maketrans("<>〈〉[]［］【】〔〕｛｝{}", "()()()()()()()()")
# Spacing, and the invisible format characters text pasted from web pages and chat
# carries (zero-width spaces and joiners, bidi marks, soft hyphens, BOMs): 市财政局\u200b
# must be 市财政局, not a second unit that looks the same.
_SPACE = re.compile(r"[\s\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]+")
# The regular ways an official name is shortened, applied to whole names only.
_SHORT_FORMS: tuple[tuple[str, str], ...] = (
    ("管理委员会", "管委会"),
    ("委员会", "委"),
    ("人民政府", "政府"),
    ("监督管理", "监管"),
    ("办公室", "办"),
    ("和", ""),
)


def name_key(name: str) -> str:
    """A unit name with width, spacing, invisible characters and bracket kind normalised."""
    key = unicodedata.normalize("NFKC", name or "")
    return _SPACE.sub("", key).translate(_BRACKETS)


def short_key(name: str) -> str:
    """`name_key` with official long forms shortened: 发展和改革委员会 → 发展改革委."""
    key = name_key(name)
    for long, short in _SHORT_FORMS:
        key = key.replace(long, short)
    return key


def display_name(name: str) -> str:
    """A unit name as the directory shows it: normalised width, no inner spacing."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", name or "").strip())
