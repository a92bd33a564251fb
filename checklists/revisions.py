"""Matching the measures of a revised document to those already imported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from checklists.unitnames import name_key


@dataclass(frozen=True)
class MeasureKey:
    """What identifies a measure across revisions: its outline place and its heading."""

    ref: str
    title: str


def match_measures(
    old: Sequence[MeasureKey], new: Sequence[MeasureKey]
) -> list[tuple[int | None, int | None]]:
    """Pair old and new measures by index; unpaired ones were removed or added.

    Passes go from strict to loose so that an edited heading at the same place, or a
    measure moved to another place under the same heading, keeps its items:
    same place and heading, then same heading, then same place.
    """
    pairs: dict[int, int] = {}
    passes = (
        lambda m: (m.ref, name_key(m.title)),
        lambda m: name_key(m.title),
        lambda m: m.ref,
    )
    for key in passes:
        free_old: dict[object, list[int]] = {}
        for i, measure in enumerate(old):
            if i not in pairs.values():
                free_old.setdefault(key(measure), []).append(i)
        for j, measure in enumerate(new):
            if j in pairs:
                continue
            candidates = free_old.get(key(measure))
            if candidates:
                pairs[j] = candidates.pop(0)
    matched_old = set(pairs.values())
    result: list[tuple[int | None, int | None]] = [(pairs.get(j), j) for j in range(len(new))]
    result += [(i, None) for i in range(len(old)) if i not in matched_old]
    return result
