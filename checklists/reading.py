"""Read an uploaded policy document (.txt, .docx, .pdf) into plain text.

Extraction is faithful, one paragraph per line: repairing damaged text (broken lines,
page headers, full-width forms) is the job of the text normaliser. Every refusal is a
`DocumentError` whose message can be shown to the person who uploaded the file.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

import charset_normalizer
import docx
from docx.document import Document as WordDocument
from lxml import etree
from pypdf import PasswordType, PdfReader

MAX_BYTES = 20 * 1024 * 1024
MAX_PAGES = 2000
# Zip-bomb guards, checked on the archive's directory before python-docx inflates anything.
MAX_DOCX_UNPACKED = 200 * 1024 * 1024
MAX_DOCX_MEMBERS = 1000
MAX_DOCX_RATIO = 100
RATIO_CHECKED_ABOVE = 10 * 1024 * 1024
# Below this many letters per page a PDF is a scan (or a font without a text mapping).
MIN_LETTERS_PER_PAGE = 16
# PDF pages are separated by a line holding only a form feed.
PAGE_BREAK = "\f"

TEXT_SUFFIXES = frozenset({"", ".txt", ".text"})
PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TEXT_ENCODINGS = ("utf-8", "gb18030")
# Fallback guesses are limited to Chinese codecs: a short binary file "decodes" as anything.
CJK_ENCODINGS = frozenset({"big5", "big5hkscs", "cp950", "gb2312", "gbk", "gb18030", "hz"})
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class DocumentError(ValueError):
    """A document that cannot be read; `reason` is a stable code, the message is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def read_document(
    data: bytes, filename: str, *, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES
) -> str:
    """Return the text of an uploaded document, one paragraph per line.

    The type comes from the file's magic bytes first and its suffix second, so a
    renamed file is still read; only the suffix of the name's last component counts.
    """
    if len(data) > max_bytes:
        limit = f"{max_bytes / 2**20:g} MB" if max_bytes >= 2**20 else f"{max_bytes} 字节"
        raise DocumentError("too_large", f"文件过大（超过 {limit}），请压缩或拆分后再导入")
    if not data.strip():
        raise DocumentError("empty", "文件为空")
    suffix = file_suffix(filename)
    kind = _document_kind(data, suffix)
    if kind == "pdf":
        text = _read_pdf(data, max_pages)
    elif kind == "docx":
        text = _read_docx(data, suffix)
    else:
        text = _read_text(data)
    if not text.strip():
        raise DocumentError("empty", "文件中没有文字内容")
    return text


def file_suffix(filename: str) -> str:
    """The lower-case suffix of the name's last path component; directories and NULs are ignored."""
    name = re.split(r"[/\\]", filename.replace("\0", ""))[-1].rstrip(". ")
    stem, dot, suffix = name.rpartition(".")
    return f".{suffix.lower()}" if dot and stem.strip(".") else ""


def _document_kind(data: bytes, suffix: str) -> str:
    head = data[:1024]
    if head.startswith(PDF_MAGIC) or (suffix == ".pdf" and PDF_MAGIC in head):
        return "pdf"
    if head.startswith(ZIP_MAGIC):
        return "docx"
    if head.startswith(OLE_MAGIC):
        raise _ole_error(data)
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix == ".docx":
        raise DocumentError("corrupt_docx", "文件不是有效的 Word（.docx）文档，可能已损坏")
    if suffix == ".pdf":
        raise DocumentError("corrupt_pdf", "文件不是有效的 PDF 文档，可能已损坏")
    raise DocumentError("unsupported_type", "不支持的文件类型，请上传 .txt、.docx 或 .pdf 文件")


def _ole_error(data: bytes) -> DocumentError:
    # Password-protected .docx files are OLE containers holding an EncryptionInfo stream.
    if "EncryptionInfo".encode("utf-16-le") in data:
        return DocumentError("encrypted", "文件已加密，请取消密码保护后再导入")
    return DocumentError(
        "unsupported_type", "不支持旧版 Word（.doc）或 WPS 格式，请另存为 .docx 或 PDF 后再导入"
    )


# --- plain text ---------------------------------------------------------------------


def _read_text(data: bytes) -> str:
    text = _decode(data)
    if _unprintable_share(text) > 0.02:
        raise DocumentError("binary", "文件不是文本文件（含有无法识别的二进制内容）")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes) -> str:
    """Decode by BOM, else as UTF-8 or GB18030 (a superset of GBK), else guess among CJK codecs."""
    binary = DocumentError("binary", "文件不是文本文件（含有无法识别的二进制内容）")
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as error:
                raise binary from error
    if b"\0" in data:
        raise binary
    for encoding in TEXT_ENCODINGS:
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode(encoding)
    # A damaged or truncated file keeps its text, with U+FFFD for the odd bad byte.
    for encoding in TEXT_ENCODINGS:
        text = data.decode(encoding, errors="replace")
        if text.count("\ufffd") <= max(1, len(text) // 200):
            return text
    guess = charset_normalizer.from_bytes(data).best()
    if guess is None or guess.encoding not in CJK_ENCODINGS:
        raise binary
    return str(guess)


def _unprintable_share(text: str) -> float:
    unprintable = sum(
        1
        for char in text
        if char not in "\t\n\r\f\v" and unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn")
    )
    return unprintable / max(len(text), 1)


# --- Word ---------------------------------------------------------------------------


def _read_docx(data: bytes, suffix: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise DocumentError("corrupt_docx", "Word 文件已损坏，无法打开") from error
    if not any(member.filename.startswith("word/") for member in members):
        if suffix == ".docx":
            raise DocumentError("corrupt_docx", "文件不是有效的 Word（.docx）文档")
        raise DocumentError("unsupported_type", "压缩包不是 Word（.docx）文档，不支持该文件类型")
    _check_unpacked_size(members)
    _check_streams(data, members)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises many unrelated types on broken packages
        raise DocumentError("corrupt_docx", "Word 文件已损坏，无法读取") from error
    numbering = _Numbering(document)
    return "\n".join(_block_lines(document.element.body, numbering))


def _check_unpacked_size(members: list[zipfile.ZipInfo]) -> None:
    """Refuse zip bombs; the declared sizes bound what zipfile will ever inflate."""
    bomb = DocumentError("too_large", "Word 文件解压后过大或压缩比异常（疑似压缩炸弹），拒绝读取")
    if len(members) > MAX_DOCX_MEMBERS:
        raise bomb
    if sum(member.file_size for member in members) > MAX_DOCX_UNPACKED:
        raise bomb
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_CHECKED_ABOVE and ratio > MAX_DOCX_RATIO:
            raise bomb


def _check_streams(data: bytes, members: list[zipfile.ZipInfo]) -> None:
    """Refuse members whose data inflates past their declared size.

    zipfile cuts a member at its declared size, but only after inflating the whole of
    each read (up to 2 GB): a member declaring 10 KB could still fill memory.
    """
    bomb = DocumentError("too_large", "Word 文件解压后过大或压缩比异常（疑似压缩炸弹），拒绝读取")
    for member in members:
        if member.compress_type == zipfile.ZIP_STORED:
            continue
        if member.compress_type != zipfile.ZIP_DEFLATED:  # Word writes no other kind
            raise DocumentError("corrupt_docx", "Word 文件使用了不支持的压缩方式")
        header = data[member.header_offset:member.header_offset + LOCAL_HEADER.size]
        if len(header) < LOCAL_HEADER.size:
            raise DocumentError("corrupt_docx", "Word 文件已损坏，无法打开")
        *_, name_length, extra_length = LOCAL_HEADER.unpack(header)
        start = member.header_offset + LOCAL_HEADER.size + name_length + extra_length
        if _inflated_size(data[start:start + member.compress_size], member.file_size) \
                > member.file_size:
            raise bomb


LOCAL_HEADER = struct.Struct("<4s5H3L2H")


def _inflated_size(raw: bytes, limit: int) -> int:
    """How many bytes a raw deflate stream inflates to, counting no further than `limit + 1`."""
    inflate, produced = zlib.decompressobj(-zlib.MAX_WBITS), 0
    try:
        while raw and produced <= limit:
            produced += len(inflate.decompress(raw, 64 * 1024))
            raw = inflate.unconsumed_tail
        if produced <= limit:  # the input is all read: what is left is one window at most
            produced += len(inflate.flush())
    except zlib.error as error:
        raise DocumentError("corrupt_docx", "Word 文件已损坏，无法打开") from error
    return produced


NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
}


def _qn(name: str) -> str:
    """Clark notation for a prefixed WordprocessingML name: "w:p" → "{…/main}p"."""
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


W_VAL = _qn("w:val")
RUN_CHARACTERS = {
    _qn("w:tab"): "\t",
    _qn("w:br"): "\n",
    _qn("w:cr"): "\n",
    _qn("w:noBreakHyphen"): "-",
}
# Properties, deleted or moved-away text, and floating drawings and text boxes (whose
# text would land in the middle of the paragraph that anchors them).
SKIPPED_IN_PARAGRAPH = frozenset(
    _qn(tag)
    for tag in [
        "w:pPr",
        "w:rPr",
        "w:del",
        "w:moveFrom",
        "w:drawing",
        "w:pict",
        "w:object",
        "mc:AlternateContent",
    ]
)


def _block_lines(container: etree._Element, numbering: _Numbering) -> Iterator[str]:
    """Paragraphs and table rows of a body or cell, in reading order."""
    for child in container.iterchildren():
        if child.tag == _qn("w:p"):
            yield numbering.label(child) + "".join(_run_texts(child))
        elif child.tag == _qn("w:tbl"):
            yield from _table_lines(child, numbering)
        elif child.tag == _qn("w:sdt"):  # a content control wrapping blocks
            for content in child.iterchildren(_qn("w:sdtContent")):
                yield from _block_lines(content, numbering)
        elif child.tag == _qn("w:customXml"):
            yield from _block_lines(child, numbering)


def _run_texts(element: etree._Element) -> Iterator[str]:
    for child in element.iterchildren():
        if child.tag == _qn("w:t"):
            yield child.text or ""
        elif child.tag in RUN_CHARACTERS:
            yield RUN_CHARACTERS[child.tag]
        elif child.tag not in SKIPPED_IN_PARAGRAPH:
            yield from _run_texts(child)


def _table_lines(table: etree._Element, numbering: _Numbering) -> Iterator[str]:
    """One line per row, cells separated by a tab.

    A vertically merged cell repeats its text in every row it spans, so that each task
    row keeps the 责任单位 (responsible units) a merged column gives it.
    """
    merged: dict[int, str] = {}
    for row in table.iterchildren(_qn("w:tr")):
        column = _int(_val(row, "w:trPr/w:gridBefore"), 0)
        cells = []
        for cell in row.iterchildren(_qn("w:tc")):
            text = _cell_text(cell, numbering)
            merge = cell.find("w:tcPr/w:vMerge", NS)
            if merge is not None and merge.get(W_VAL) == "restart":
                merged[column] = text
            elif merge is not None:
                text = merged.get(column, text)
            cells.append(text)
            column += max(_int(_val(cell, "w:tcPr/w:gridSpan"), 1), 1)
        yield "\t".join(cells)


def _cell_text(cell: etree._Element, numbering: _Numbering) -> str:
    lines = (re.sub(r"[\t\n]", " ", line) for line in _block_lines(cell, numbering))
    return " ".join(line for line in lines if line.strip())


def _val(element: etree._Element, path: str) -> str | None:
    found = element.find(path, NS)
    return None if found is None else found.get(W_VAL)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


# --- Word automatic numbering ---------------------------------------------------------


@dataclass(frozen=True)
class _Level:
    start: int
    number_format: str
    text: str
    suffix: str
    restarts: bool
    legal: bool
    style: str | None


LEVEL_SUFFIXES = {"tab": "\t", "space": " ", "nothing": ""}


def _level(element: etree._Element) -> _Level:
    number_format = _val(element, "w:numFmt") or _val(
        element, "mc:AlternateContent/mc:Fallback/w:numFmt"
    )
    legal = element.find("w:isLgl", NS)
    return _Level(
        start=_int(_val(element, "w:start"), 0),
        number_format=number_format or "decimal",
        text=_val(element, "w:lvlText") or "",
        suffix=LEVEL_SUFFIXES.get(_val(element, "w:suff") or "tab", "\t"),
        restarts=_val(element, "w:lvlRestart") != "0",
        legal=legal is not None and legal.get(W_VAL) not in ("0", "false"),
        style=_val(element, "w:pStyle"),
    )


class _Numbering:
    """Word's automatic numbers ("一、", "（一）", "1."), which are not in the paragraph text.

    Counters are kept per list instance (numId); using a level restarts the deeper ones.
    """

    def __init__(self, document: WordDocument) -> None:
        styles = document.styles.element
        self._styles = {s.get(_qn("w:styleId")): s for s in styles.iterchildren(_qn("w:style"))}
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            numbering = etree.Element(_qn("w:numbering"))
        self._nums = {n.get(_qn("w:numId")): n for n in numbering.iterchildren(_qn("w:num"))}
        self._abstracts = {
            a.get(_qn("w:abstractNumId")): a for a in numbering.iterchildren(_qn("w:abstractNum"))
        }
        self._levels: dict[str, dict[int, _Level]] = {}
        self._counters: dict[str, dict[int, int]] = {}

    def label(self, paragraph: etree._Element) -> str:
        """The number Word shows before this paragraph, with its separator; "" if none."""
        found = self._list_position(paragraph)
        if found is None:
            return ""
        num_id, ilvl = found
        levels = self._levels_of(num_id)
        if ilvl not in levels or levels[ilvl].number_format == "bullet":
            return ""
        counters = self._counters.setdefault(num_id, {})
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else levels[ilvl].start
        for deeper in [k for k in counters if k > ilvl and (k not in levels or levels[k].restarts)]:
            del counters[deeper]
        level = levels[ilvl]

        def number(match: re.Match[str]) -> str:
            other = levels.get(int(match.group(1)) - 1)
            if other is None:
                return ""
            value = counters.get(int(match.group(1)) - 1, other.start)
            return format_number(value, "decimal" if level.legal else other.number_format)

        shown = re.sub(r"%([1-9])", number, level.text)
        return shown + level.suffix if shown else ""

    def _list_position(self, paragraph: etree._Element) -> tuple[str, int] | None:
        style_id = _val(paragraph, "w:pPr/w:pStyle")
        style_num_id, style_ilvl = self._style_numbering(style_id)
        num_id = _val(paragraph, "w:pPr/w:numPr/w:numId") or style_num_id
        if num_id is None or num_id == "0":
            return None
        ilvl = _val(paragraph, "w:pPr/w:numPr/w:ilvl") or style_ilvl
        if ilvl is None:  # a heading style linked to one level of a multilevel list
            linked = [i for i, lvl in self._levels_of(num_id).items() if lvl.style == style_id]
            return num_id, linked[0] if linked else 0
        return num_id, _int(ilvl, 0)

    def _style_numbering(self, style_id: str | None) -> tuple[str | None, str | None]:
        seen: set[str] = set()
        while style_id is not None and style_id not in seen and style_id in self._styles:
            seen.add(style_id)
            style = self._styles[style_id]
            num_id = _val(style, "w:pPr/w:numPr/w:numId")
            if num_id is not None:
                return num_id, _val(style, "w:pPr/w:numPr/w:ilvl")
            style_id = _val(style, "w:basedOn")
        return None, None

    def _levels_of(self, num_id: str) -> dict[int, _Level]:
        if num_id not in self._levels:
            self._levels[num_id] = self._read_levels(num_id, hops=2)
        return self._levels[num_id]

    def _read_levels(self, num_id: str, hops: int) -> dict[int, _Level]:
        num = self._nums.get(num_id)
        abstract = self._abstracts.get(_val(num, "w:abstractNumId")) if num is not None else None
        if abstract is None:
            return {}
        link = _val(abstract, "w:numStyleLink")  # the list is defined by a numbering style
        linked_num = self._style_numbering(link)[0] if link else None
        if linked_num is not None and hops > 0:
            levels = self._read_levels(linked_num, hops - 1)
        else:
            levels = {
                _int(lvl.get(_qn("w:ilvl")), 0): _level(lvl)
                for lvl in abstract.iterchildren(_qn("w:lvl"))
            }
        for override in num.iterchildren(_qn("w:lvlOverride")):
            ilvl = _int(override.get(_qn("w:ilvl")), 0)
            if (replaced := override.find("w:lvl", NS)) is not None:
                levels[ilvl] = _level(replaced)
            start = _val(override, "w:startOverride")
            if start is not None and ilvl in levels:
                levels[ilvl] = replace(levels[ilvl], start=_int(start, levels[ilvl].start))
        return levels


CHINESE_DIGITS = "〇一二三四五六七八九"
LEGAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def format_number(value: int, number_format: str) -> str:
    """Render a list counter the way Word's numFmt does; unknown formats fall back to decimal."""
    if number_format == "none":
        return ""
    if number_format in ("chineseCounting", "chineseCountingThousand", "japaneseCounting"):
        return _chinese_counting(value, CHINESE_DIGITS, "十百千")
    if number_format == "chineseLegalSimplified":
        return _chinese_counting(value, LEGAL_DIGITS, "拾佰仟")
    if number_format == "ideographDigital":
        return "".join(CHINESE_DIGITS[int(d)] for d in str(value)) if value >= 0 else str(value)
    if number_format == "ideographTraditional" and 1 <= value <= 10:
        return "甲乙丙丁戊己庚辛壬癸"[value - 1]
    if number_format in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese"):
        return CIRCLED[value - 1] if 1 <= value <= len(CIRCLED) else str(value)
    if number_format == "decimalEnclosedParen" and 1 <= value <= 20:
        return chr(0x2474 + value - 1)  # ⑴
    if number_format == "decimalEnclosedFullstop" and 1 <= value <= 20:
        return chr(0x2488 + value - 1)  # ⒈
    if number_format in ("decimalFullWidth", "decimalFullWidth2"):
        return str(value).translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    if number_format == "decimalZero":
        return f"{value:02d}"
    if number_format in ("upperLetter", "lowerLetter") and 1 <= value <= 780:
        letter = chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)
        return letter.upper() if number_format == "upperLetter" else letter
    return str(value)


def _chinese_counting(value: int, digits: str, places: str) -> str:
    """一, 十一, 二十, 一百零五; values from 10 000 on stay in Arabic digits."""
    if not 0 < value < 10000:
        return digits[0] if value == 0 else str(value)
    text, skipped_zero = "", False
    for power, digit in zip(range(3, -1, -1), f"{value:04d}", strict=True):
        if digit == "0":
            skipped_zero = bool(text)
            continue
        text += ("零" if skipped_zero else "") + digits[int(digit)]
        text += places[power - 1] if power else ""
        skipped_zero = False
    # 10–19 read 十, 十一 … rather than 一十, 一十一.
    return text[1:] if 10 <= value < 20 and digits == CHINESE_DIGITS else text


# --- PDF ----------------------------------------------------------------------------


def _read_pdf(data: bytes, max_pages: int) -> str:
    reader = _open_pdf(data)
    # The declared count costs nothing to read; the real one walks the page tree.
    if _declared_page_count(reader) > max_pages or _page_count(reader) > max_pages:
        raise DocumentError(
            "too_many_pages", f"PDF 页数过多（超过 {max_pages} 页），请拆分后再导入"
        )
    pages = [_page_text(reader, number) for number in range(len(reader.pages))]
    letters = sum(1 for page in pages for char in page if unicodedata.category(char)[0] == "L")
    if letters < MIN_LETTERS_PER_PAGE * max(len(pages), 1):
        raise DocumentError("no_text_layer", "PDF 文件没有文字层（可能是扫描件），请先进行文字识别")
    return f"\n{PAGE_BREAK}\n".join(pages)


def _declared_page_count(reader: PdfReader) -> int:
    try:
        return int(reader.trailer["/Root"]["/Pages"]["/Count"])
    except Exception:  # a damaged page tree: the real count decides
        return 0


def _page_count(reader: PdfReader) -> int:
    try:
        return len(reader.pages)
    except Exception as error:  # pypdf raises many unrelated types on broken files
        raise DocumentError("corrupt_pdf", "PDF 文件的页面结构已损坏，无法读取") from error


def _page_text(reader: PdfReader, number: int) -> str:
    try:
        return (reader.pages[number].extract_text() or "").strip("\n")
    except Exception as error:  # pypdf raises many unrelated types on broken files
        raise DocumentError("corrupt_pdf", f"PDF 第 {number + 1} 页已损坏，无法读取") from error


def _open_pdf(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as error:  # pypdf raises many unrelated types on broken files
        raise DocumentError("corrupt_pdf", "PDF 文件已损坏，无法打开") from error
    if encrypted:
        try:
            opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except Exception:  # an unsupported cipher
            opened = False
        if not opened:
            raise DocumentError("encrypted", "PDF 文件已加密，请取消密码保护后再导入")
    return reader
