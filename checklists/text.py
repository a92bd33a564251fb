"""Repair text extracted from PDF and Word policy documents before it is parsed.

Extraction damages documents: lines wrap mid-sentence (even mid-keyword, across pages:
`(责` / `任部门：`), digits and letters come out full-width (`２０２４`), page numbers,
running heads and Word `[bookmark: …]` residue are mixed in. `paragraphs` undoes that.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter

from checklists.outline import match_marker

# NFKC would turn these into ASCII. Chinese text reads with them, and the parsers accept
# both forms, so they stay. Enclosed numerals (① ⑴ ⒈ ㈠) are outline markers that NFKC
# would flatten into plain digits.
_KEEP = re.compile(r"[（），：；！？…\u2460-\u24ff\u3220-\u3229\u3280-\u3289]+")
_CJK = "\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef“”‘’《》—…"
# A run of spaces is matched from its start only: tried from inside a long run, the
# lookahead would rescan the rest of the run from every position (quadratic).
_SPACE_NEAR_CJK = re.compile(rf"(?<![ \t])[ \t]+(?=[{_CJK}])|(?<=[{_CJK}])[ \t]+")
# Full-width text never uses ASCII spaces: between full-width forms they are PDF letter
# spacing ("Ｃ － Ｖ２Ｘ"), dropped before the forms are folded to ASCII.
_LETTER_SPACING = re.compile(r"(?<=[\uff01-\uff5e])[ \t\u3000]+(?=[\uff01-\uff5e])")
# "市发改委 市财政局": a space between the end of one organ's name and the level prefix
# of the next separates two units (PDF tables lose their cells this way).
_SPACE_BETWEEN_UNITS = re.compile(r"(?<=[厅局委办府])[ \t\u3000]+(?=[省市区县各])")
# Runs of spaces left between Latin letters and digits are layout, read as one space;
# a run thousands long would also cost every later pattern with a \s* quadratic time.
_SPACE_RUN = re.compile(r"\s{2,}")
_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]", re.IGNORECASE)
_BOOKMARK_START = re.compile(r"\[bookmark", re.IGNORECASE)
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_PAGE_NUMBER = re.compile(
    r"^[-—–−·•\s]*(?:第\s*)?\d{1,3}\s*(?:页)?(?:\s*[/／]\s*\d{1,3}|\s*共\s*\d{1,3}\s*页)?[-—–−·•\s]*$"
)
_METADATA = re.compile(
    r"^(?:来源|发布时间|发布日期|成文日期|索引号|发文字号|文号|发文机关|主题分类)[:：]"
)
# "牵头单位：…", "完成时限：…" on their own lines are paragraphs whatever their length.
_LABEL_LINE = re.compile(
    r"^[【\[]?(?:(?:牵头|配合|责任|协办|主办|承办|参与|协助|实施|落实)(?:单位|部门|处室|主体)"
    r"|(?:完成)?(?:时限|期限)|完成时间|时间节点)[】\]]?\s*[:：]?"
)
# A line ending with one of these ends its paragraph.
_TERMINAL = tuple("。！？；：:;!?）)】]〕")
_OPENERS, _CLOSERS = "（([【〔〈", "）)]】〕〉"
_CONTINUATION = tuple("，、。；：）)》”")
_RUNNING_HEAD_MIN = 3
_PUNCTUATED = re.compile(r"[。，、：；！？,:;!?（）()<>〈〉【】\[\]]")


def fold_width(text: str) -> str:
    """NFKC outside Chinese punctuation and enclosed numerals: `２０２４`→`2024`, `（` kept."""
    out, pos = [], 0
    for m in _KEEP.finditer(text):
        out.append(unicodedata.normalize("NFKC", text[pos:m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(unicodedata.normalize("NFKC", text[pos:]))
    return "".join(out)


def clean_line(line: str) -> str:
    """One line with residue removed and the spaces PDF layout puts around CJK dropped.

    A line with tabs between text is a table row (one cell per tab) and keeps its tabs;
    other tabs are spaces.
    """
    cells = line.strip("\r\n\f").split("\t")
    if sum(bool(c.strip()) for c in cells) > 1 and not _bare_marker(cells[0]):
        return "\t".join(_clean_text(cell) for cell in cells)
    return _clean_text(line.replace("\t", " "))


def _bare_marker(cell: str) -> bool:
    """A Word list number followed by its tab ("1.\t…"), not a table cell."""
    marker = match_marker(_clean_text(cell))
    return marker is not None and not marker.rest


def _clean_text(text: str) -> str:
    text = _LETTER_SPACING.sub("", text)
    text = _BOOKMARK.sub("", fold_width(text))
    text = _BOLD.sub(r"\1", text)
    text = _SPACE_BETWEEN_UNITS.sub("、", text)
    return _SPACE_RUN.sub(" ", _SPACE_NEAR_CJK.sub("", text)).strip()


def _furniture(lines: list[str]) -> set[str]:
    """Running heads and feet: short lines repeated on many pages.

    A repeated line with list or sentence punctuation is content wrapped the same way
    twice (the tail of an annotation), not a head.
    """
    counts = Counter(lines)
    return {
        line for line, n in counts.items()
        if n >= _RUNNING_HEAD_MIN and len(line) <= 40 and not _PUNCTUATED.search(line)
        and not match_marker(line)
    }


def _short_length(lines: list[str]) -> float:
    """Below this length a line that does not end a sentence still ends its paragraph.

    Hard-wrapped PDF lines all have about the same length; a shorter one is a title line
    or a heading. Word text has one line per paragraph, where 20 characters is a heading.
    """
    wrapped = [len(x) for x in lines if len(x) >= 8 and not x.endswith(_TERMINAL)
               and not match_marker(x)]
    if len(wrapped) < 3:
        return 20
    width = statistics.quantiles(wrapped, n=4)[2]  # wrapped lines are the long ones
    return min(20, 0.7 * width)


class _OpenBracket:
    """Whether a paragraph ends inside a bracket opened near its end.

    A paragraph grows a line at a time and is asked again after each: the scan goes on
    from where the last one stopped, so a paragraph of thousands of lines costs one pass.
    """

    def __init__(self) -> None:
        self.scanned, self.depth, self.last_open = "", 0, -1

    def __call__(self, paragraph: str) -> bool:
        if not paragraph.startswith(self.scanned):  # another paragraph: start over
            self.scanned, self.depth, self.last_open = "", 0, -1
        for i in range(len(self.scanned), len(paragraph)):
            if paragraph[i] in _OPENERS:
                self.last_open = i if self.depth == 0 else self.last_open
                self.depth += 1
            elif paragraph[i] in _CLOSERS and self.depth:
                self.depth -= 1
        self.scanned = paragraph
        return self.depth > 0 and len(paragraph) - self.last_open <= 120


def _is_heading(paragraph: str) -> bool:
    return paragraph.startswith("#") or (
        match_marker(paragraph) is not None and "。" not in paragraph and len(paragraph) <= 40)


def _continues(
    paragraph: str, last: str, line: str, short: float, open_bracket: _OpenBracket
) -> bool:
    """Whether `line` carries on the paragraph whose last line is `last`."""
    if line.startswith("#") or paragraph.startswith("#") or "\t" in line + paragraph:
        return False
    if _METADATA.match(line) or _METADATA.match(paragraph):
        return False
    if match_marker(line) or _BOOKMARK_START.match(line):
        return False  # Word bookmarks mark the start of a paragraph
    paragraph = _BOOKMARK.sub("", paragraph)
    if open_bracket(paragraph) or line.startswith(_CONTINUATION):
        return True
    if _LABEL_LINE.match(line):
        return False
    if last.endswith(_TERMINAL) or _is_heading(paragraph):
        return False
    return len(last) >= short


def paragraphs(text: str) -> list[str]:
    """The document as repaired paragraphs: wrapped lines rejoined, furniture dropped."""
    lines = [clean_line(x) for x in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [x for x in lines if x and not _PAGE_NUMBER.match(x)]
    furniture = _furniture(lines)
    lines = [x for x in lines if x not in furniture]
    short = _short_length(lines)
    result: list[str] = []
    last = ""
    open_bracket = _OpenBracket()
    for line in lines:
        if result and _continues(result[-1], last, line, short, open_bracket):
            result[-1] += line  # wrapped mid-word or mid-number ("20" / "23"): no space
        else:
            result.append(line)
        last = line
    # Residue can itself be wrapped across lines: clean it again once lines are joined.
    return [re.sub(r"^#+\s*", "", _BOOKMARK.sub("", p)).strip() for p in result]


def normalize(text: str) -> str:
    """The repaired document as text, one paragraph per line."""
    return "\n".join(paragraphs(text))
