"""Turn the text of a policy document into measures with units, deadlines and targets.

`extract` reads a document the way a 督查室 (supervision office) clerk does: find every
measure in the outline, who must carry it out and who leads, when it is due, whether it
recurs, and which numbers it promises. A measure without a responsible unit (a goals
section, a news report) is still returned, with no units: it is never given invented ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

from checklists import deadlines, outline, tables, text
from checklists.responsibility import (
    Annotation,
    Responsibility,
    ResponsibleUnit,
    find_annotations,
    implicit_statements,
    lead_rule,
    parse_annotation,
)
from checklists.targets import Target, targets
from checklists.unitnames import name_key

__all__ = ["Extraction", "Measure", "ResponsibleUnit", "Target", "extract"]


@dataclass(frozen=True)
class Measure:
    """One task of a document: a numbered measure, or one of several tasks it carries."""

    ref: str
    title: str
    text: str
    units: list[ResponsibleUnit]
    deadline: date | None
    deadline_source: str | None
    recurrence: str | None
    targets: list[Target]
    joint: bool = False  # "按职责分工负责": responsibility shared, no lead

    def to_dict(self) -> dict[str, Any]:
        """The measure in the extraction JSON shape."""
        return {
            "ref": self.ref,
            "title": self.title,
            "text": self.text,
            "units": [
                {"name": u.name, "canonical": u.canonical, "role": u.role, "group": u.group,
                 "implicit": u.implicit}
                for u in self.units
            ],
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "deadline_source": self.deadline_source,
            "recurrence": self.recurrence,
            "targets": [
                {"text": t.text, "value": t.value, "unit": t.unit, "comparator": t.comparator}
                for t in self.targets
            ],
        }


@dataclass(frozen=True)
class Extraction:
    """A document's title, plan period, stated lead rule and measures."""

    title: str
    period: tuple[int, int] | None
    lead_rule: str | None
    measures: list[Measure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The extraction as the JSON the `checklist extract` command prints."""
        return {
            "title": self.title,
            "period": list(self.period) if self.period else None,
            "measures": [m.to_dict() for m in self.measures],
        }


@dataclass(frozen=True)
class _Block:
    """The text of one measure in the outline, and where its units may come from."""

    ref: str
    text: str
    order: int  # position in the document, to know which stated rules precede it
    inherited: tuple[Annotation, ...] = ()  # a parent heading's annotation


@dataclass(frozen=True)
class _Context:
    """What the whole document says that every measure needs."""

    rule: str | None
    period: tuple[int, int] | None
    year: int | None
    default: date | None
    implicit: list[tuple[int, tuple[ResponsibleUnit, ...]]]


def extract(document: str, *, title: str | None = None,
            default_deadline: date | None = None) -> Extraction:
    """Read a policy document's text into its measures."""
    paragraphs = text.paragraphs(document)
    prose, rows = tables.split_tables(paragraphs)
    head, body_start = outline.document_title(prose)
    title = title or head
    preamble, nodes = outline.parse(prose[body_start:])
    blocks = list(_blocks(preamble, nodes, not rows))
    blocks += [_Block(row.ref, row.text, len(nodes) + k) for k, row in enumerate(rows)]
    statements = [(order, units) for order, body in _ordered_texts(preamble, nodes)
                  for _, units in implicit_statements(body)]
    period = deadlines.plan_period(title)
    year = deadlines.document_year(paragraphs) or (period[0] if period else None)
    context = _Context(lead_rule("\n".join(paragraphs)), period, year, default_deadline,
                       statements)
    return Extraction(title, context.period, context.rule, _measures(blocks, context))


def _ordered_texts(preamble: list[str], nodes: list[outline.Node]) -> Iterator[tuple[int, str]]:
    yield -1, "\n".join(preamble)
    for i, node in enumerate(nodes):
        yield i, "\n".join(node.paragraphs)


def _blocks(preamble: list[str], nodes: list[outline.Node], prose_only: bool,
            ) -> Iterator[_Block]:
    """Measures of the outline: leaves, and headings that carry their own annotation.

    A heading's annotation that none of its items repeats applies to each of them.
    """
    if not nodes and prose_only:  # a news report: each paragraph of prose is a measure
        prose = [p for p in preamble if outline.title_of(p) != p]
        for k, paragraph in enumerate(prose, start=1):
            yield _Block(f"¶{k}", paragraph, k)
        return
    own = [find_annotations("\n".join(n.paragraphs)) for n in nodes]
    inherited: dict[int, tuple[Annotation, ...]] = {}
    for i, node in enumerate(nodes):
        body = "\n".join(node.paragraphs)
        below = outline.descendants(nodes, i)
        if not node.children:
            yield _Block(node.ref, body, i, inherited.get(i, ()))
        elif own[i] and not any(own[d] for d in below):
            inherited.update({d: tuple(own[i]) for d in below})
        elif own[i]:
            yield _Block(node.ref, body, i)


def _tasks(body: str) -> list[tuple[str, list[Annotation]]]:
    """Split a measure carrying several annotations into one task per annotation."""
    found = find_annotations(body)
    if len(found) <= 1:
        return [(body, found)]
    cuts = [0, *(a.end for a in found[:-1]), len(body)]
    tasks = []
    for start, end in pairwise(cuts):
        piece = body[start:end]
        lead = len(piece) - len(piece.lstrip("。；;，, \n"))
        tasks.append((piece[lead:], find_annotations(piece[lead:])))
    return tasks


def _measures(blocks: list[_Block], context: _Context) -> list[Measure]:
    measures: list[Measure] = []
    same_below: tuple[ResponsibleUnit, ...] = ()
    for block in blocks:
        tasks = _tasks(block.text)
        for k, (body, found) in enumerate(tasks, start=1):
            annotations = found or list(block.inherited)
            responsibility = _responsibility(annotations, context.rule)
            listed = list(responsibility.units) if responsibility else [
                ResponsibleUnit(u.name, u.role, u.group, True) for u in same_below]
            if responsibility and responsibility.same_below:
                same_below = responsibility.units
            implicit = [u for order, units in context.implicit if order < block.order
                        for u in units]
            ref = block.ref if k == 1 else f"{block.ref}-{k}"
            measures.append(_measure(ref, body, found, _merge(listed, implicit),
                                     bool(responsibility and responsibility.joint), context))
    return measures


def _responsibility(annotations: list[Annotation], rule: str | None) -> Responsibility | None:
    if not annotations:
        return None
    merged = Annotation(annotations[0].start, annotations[-1].end,
                        tuple(c for a in annotations for c in a.contents))
    return parse_annotation(merged, rule)


def _merge(listed: list[ResponsibleUnit], implicit: list[ResponsibleUnit]) -> list[ResponsibleUnit]:
    """Listed units, then implicit ones the measure does not already list."""
    seen = {name_key(u.name) for u in listed}
    units = list(listed)
    for unit in implicit:
        if name_key(unit.name) not in seen:
            seen.add(name_key(unit.name))
            units.append(unit)
    return units


def _without(body: str, annotations: list[Annotation]) -> str:
    for annotation in sorted(annotations, key=lambda a: a.start, reverse=True):
        body = body[:annotation.start] + body[annotation.end:]
    return body


def _measure(ref: str, body: str, found: list[Annotation], units: list[ResponsibleUnit],
             joint: bool, context: _Context) -> Measure:
    prose = _without(body, found)
    due = deadlines.measure_deadline(body, period=context.period, default=context.default,
                                     year=context.year)
    return Measure(
        ref=ref,
        title=outline.title_of(prose) or outline.title_of(body),
        text=body.strip(),
        units=units,
        deadline=due.date if due else None,
        deadline_source=due.source if due else None,
        recurrence=deadlines.recurrence(prose),
        targets=targets(prose),
        joint=joint,
    )
