"""Reading uploaded documents: text encodings, Word (numbering, tables), PDF, bad input.

Every .docx and .pdf is generated here, so no binary fixture is checked in.
"""

import io
import zipfile

import docx
import pypdf
import pytest
from docx.document import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from checklists import reading
from checklists.reading import DocumentError, file_suffix, format_number, read_document

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def refusal(data: bytes, filename: str, **limits: int) -> str:
    with pytest.raises(DocumentError) as caught:
        read_document(data, filename, **limits)
    assert caught.value.message, "a refusal always explains itself"
    return caught.value.reason


# --- plain text ---------------------------------------------------------------------

MEASURE = "一、加强组织领导（责任单位：省科技厅、省发展改革委）"


@pytest.mark.parametrize(
    "data",
    [
        MEASURE.encode("utf-8"),
        b"\xef\xbb\xbf" + MEASURE.encode("utf-8"),
        MEASURE.encode("gbk"),
        MEASURE.encode("gb18030"),
        MEASURE.encode("utf-16"),
        b"\xfe\xff" + MEASURE.encode("utf-16-be"),
    ],
    ids=["utf-8", "utf-8-bom", "gbk", "gb18030", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_text_encodings_are_detected(data: bytes) -> None:
    assert read_document(data, "措施.txt") == MEASURE


@pytest.mark.parametrize("text", ["责任单位", "年底前", "中", "科技厅牵头"])
def test_short_gbk_text_is_not_mistaken_for_another_encoding(text: str) -> None:
    assert read_document(text.encode("gbk"), "a.txt") == text


def test_gb18030_characters_outside_gbk() -> None:
    text = "㐀字与€符号"
    assert read_document(text.encode("gb18030"), "a.txt") == text


def test_line_endings_become_newlines() -> None:
    assert read_document("一、总体要求\r\n二、重点任务\r三、保障".encode(), "a.txt") == (
        "一、总体要求\n二、重点任务\n三、保障"
    )


def test_a_file_cut_inside_its_last_character_keeps_its_text() -> None:
    data = (MEASURE * 3).encode("utf-8")[:-1]
    assert read_document(data, "a.txt").startswith(MEASURE * 2)


def test_text_without_a_name_or_with_an_unusual_path_is_text() -> None:
    assert read_document(MEASURE.encode(), "") == MEASURE
    assert read_document(MEASURE.encode(), "../../etc/passwd") == MEASURE


# --- Word: numbering, tables, runs --------------------------------------------------

# A custom list: 一、 / （一） / 1. — as in Chinese government documents.
CHINESE_OUTLINE = f"""
<w:abstractNum {nsdecls("w")} w:abstractNumId="90">
  <w:multiLevelType w:val="multilevel"/>
  <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>
    <w:suff w:val="nothing"/><w:lvlText w:val="%1、"/></w:lvl>
  <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>
    <w:suff w:val="nothing"/><w:lvlText w:val="（%2）"/></w:lvl>
  <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/>
    <w:suff w:val="space"/><w:lvlText w:val="%3."/></w:lvl>
</w:abstractNum>
"""


def add_list(document: Document, abstract_xml: str, num_id: int, overrides: str = "") -> None:
    """Add an abstract list definition and an instance of it to the numbering part."""
    numbering = document.part.numbering_part.element
    abstract = parse_xml(abstract_xml)
    first_num = numbering.find(f"{{{numbering.nsmap['w']}}}num")
    first_num.addprevious(abstract)
    abstract_id = abstract.get(f"{{{numbering.nsmap['w']}}}abstractNumId")
    numbering.append(
        parse_xml(
            f'<w:num {nsdecls("w")} w:numId="{num_id}">'
            f'<w:abstractNumId w:val="{abstract_id}"/>{overrides}</w:num>'
        )
    )


def add_numbered(document: Document, text: str, num_id: int, level: int) -> None:
    paragraph = document.add_paragraph(text)
    numbering = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    numbering.get_or_add_numId().val = num_id
    numbering.get_or_add_ilvl().val = level


def docx_bytes(document: Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_chinese_outline_numbers_are_synthesised_with_restarts() -> None:
    document = docx.Document()
    add_list(document, CHINESE_OUTLINE, num_id=90)
    document.add_paragraph("关于加快科技创新的若干措施")
    for text, level in [
        ("总体要求", 0),
        ("加强组织领导", 1),
        ("强化资金保障", 1),
        ("重点任务", 0),
        ("培育创新主体（责任单位：省科技厅）", 1),
        ("到2025年建成实验室不少于10个。", 2),
        ("引进高层次人才。", 2),
        ("完善评价机制", 1),
        ("建立考核制度。", 2),
    ]:
        add_numbered(document, text, num_id=90, level=level)

    assert read_document(docx_bytes(document), "措施.docx").splitlines() == [
        "关于加快科技创新的若干措施",
        "一、总体要求",
        "（一）加强组织领导",
        "（二）强化资金保障",
        "二、重点任务",
        "（一）培育创新主体（责任单位：省科技厅）",
        "1. 到2025年建成实验室不少于10个。",
        "2. 引进高层次人才。",
        "（二）完善评价机制",
        "1. 建立考核制度。",
    ]


def test_list_instances_count_separately_and_honour_start_overrides() -> None:
    document = docx.Document()
    add_list(document, CHINESE_OUTLINE, num_id=90)
    add_list(
        document,
        CHINESE_OUTLINE.replace('"90"', '"91"'),
        num_id=91,
        overrides='<w:lvlOverride w:ilvl="0"><w:startOverride w:val="11"/></w:lvlOverride>',
    )
    add_numbered(document, "总体要求", num_id=90, level=0)
    add_numbered(document, "附则", num_id=91, level=0)
    add_numbered(document, "施行日期", num_id=91, level=0)
    add_numbered(document, "重点任务", num_id=90, level=0)

    assert read_document(docx_bytes(document), "a.docx").splitlines() == [
        "一、总体要求",
        "十一、附则",
        "十二、施行日期",
        "二、重点任务",
    ]


def test_built_in_list_number_style() -> None:
    document = docx.Document()
    for text in ["建设创新平台", "培育科技企业", "优化创新生态"]:
        document.add_paragraph(text, style="List Number")

    assert read_document(docx_bytes(document), "a.docx").splitlines() == [
        "1.\t建设创新平台",
        "2.\t培育科技企业",
        "3.\t优化创新生态",
    ]


def test_heading_style_linked_to_a_list_level() -> None:
    document = docx.Document()
    add_list(
        document,
        CHINESE_OUTLINE.replace('w:ilvl="0">', 'w:ilvl="0"><w:pStyle w:val="Heading1"/>'),
        num_id=90,
    )
    heading = document.styles["Heading 1"].element
    heading.get_or_add_pPr().get_or_add_numPr().get_or_add_numId().val = 90
    document.add_paragraph("总体要求", style="Heading 1")
    document.add_paragraph("正文。")
    document.add_paragraph("重点任务", style="Heading 1")

    assert read_document(docx_bytes(document), "a.docx").splitlines() == [
        "一、总体要求",
        "正文。",
        "二、重点任务",
    ]


def test_bulleted_paragraphs_get_no_number() -> None:
    document = docx.Document()
    document.add_paragraph("要点", style="List Bullet")
    assert read_document(docx_bytes(document), "a.docx") == "要点"


def test_task_table_comes_out_one_row_per_line_between_paragraphs() -> None:
    document = docx.Document()
    document.add_paragraph("附件：重点任务分解表")
    table = document.add_table(rows=4, cols=4)
    title = table.cell(0, 0).merge(table.cell(0, 3))
    title.text = "2024年重点任务"
    rows = [
        ("序号", "任务", "责任单位", "完成时限"),
        ("1", "建设重点实验室", "省科技厅、省财政厅", "2025年底前"),
        ("2", "培育高新技术企业", "", "2024年6月底前"),
    ]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    # The 责任单位 column is merged over both task rows, as clerks often do.
    table.cell(2, 2).merge(table.cell(3, 2))
    document.add_paragraph("以上任务按季度报送进展。")

    assert read_document(docx_bytes(document), "a.docx").splitlines() == [
        "附件：重点任务分解表",
        "2024年重点任务",
        "序号\t任务\t责任单位\t完成时限",
        "1\t建设重点实验室\t省科技厅、省财政厅\t2025年底前",
        "2\t培育高新技术企业\t省科技厅、省财政厅\t2024年6月底前",
        "以上任务按季度报送进展。",
    ]


def test_cell_paragraphs_join_on_one_line() -> None:
    document = docx.Document()
    cell = document.add_table(rows=1, cols=2).cell(0, 1)
    cell.text = "省科技厅"
    cell.add_paragraph("省发展改革委")
    table_line = read_document(docx_bytes(document), "a.docx")
    assert table_line == "\t省科技厅 省发展改革委"


def test_tracked_changes_hyperlinks_and_breaks() -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("到")
    w = nsdecls("w")
    paragraph._p.append(
        parse_xml(f'<w:ins {w} w:id="1" w:author="a"><w:r><w:t>2025年</w:t></w:r></w:ins>')
    )
    paragraph._p.append(
        parse_xml(
            f'<w:del {w} w:id="2" w:author="a"><w:r><w:delText>2024年</w:delText></w:r></w:del>'
        )
    )
    paragraph._p.append(parse_xml(f"<w:hyperlink {w}><w:r><w:t>建成</w:t></w:r></w:hyperlink>"))
    paragraph._p.append(parse_xml(f"<w:r {w}><w:br/><w:t>第二行</w:t><w:tab/><w:t>末</w:t></w:r>"))

    assert read_document(docx_bytes(document), "a.docx") == "到2025年建成\n第二行\t末"


# --- PDF ----------------------------------------------------------------------------


def pdf_bytes(pages: list[list[str]], **options: object) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, **options)
    for lines in pages:
        pdf.setFont("STSong-Light", 12)
        for i, line in enumerate(lines):
            pdf.drawString(72, 760 - 20 * i, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


PAGES = [
    [
        "关于加快科技创新的若干措施",
        "一、加强组织领导（责任单位：省科技厅、",
        "省发展改革委）",
        "- 1 -",
    ],
    ["二、到2025年建成重点实验室不少于150个。", "（责任单位：省财政厅）", "- 2 -"],
]


def test_pdf_pages_are_read_in_order_with_a_page_break_line() -> None:
    text = read_document(pdf_bytes(PAGES), "措施.pdf")
    assert text.split("\n") == [*PAGES[0], reading.PAGE_BREAK, *PAGES[1]]


def test_pdf_with_an_owner_password_only_is_read() -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    locked = StandardEncryption(userPassword="", ownerPassword="owner", canPrint=0)
    assert "省科技厅" in read_document(pdf_bytes(PAGES, encrypt=locked), "a.pdf")


def test_pdf_with_a_user_password_is_refused() -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    locked = StandardEncryption(userPassword="secret", ownerPassword="owner")
    assert refusal(pdf_bytes(PAGES, encrypt=locked), "a.pdf") == "encrypted"


def test_pdf_without_a_text_layer_is_refused() -> None:
    buffer = io.BytesIO()
    scan = canvas.Canvas(buffer)
    scan.rect(72, 72, 400, 600, fill=1)
    scan.drawString(500, 40, "1")  # a page number is not a text layer
    scan.showPage()
    scan.save()
    assert refusal(buffer.getvalue(), "扫描件.pdf") == "no_text_layer"


def test_pdf_with_too_many_pages_is_refused_before_extraction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    long_pdf = pdf_bytes(PAGES * 2)
    assert read_document(long_pdf, "a.pdf", max_pages=4)

    def no_extraction(*args: object, **kwargs: object) -> str:
        raise AssertionError("text was extracted")

    monkeypatch.setattr(pypdf.PageObject, "extract_text", no_extraction)
    assert refusal(long_pdf, "a.pdf", max_pages=3) == "too_many_pages"


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\nnot really a pdf", pdf_bytes(PAGES)[:-200], b"%PDF-1.4\n" + b"\0" * 64],
    ids=["garbage", "truncated", "zeros"],
)
def test_broken_pdf_is_refused(data: bytes) -> None:
    assert refusal(data, "a.pdf") == "corrupt_pdf"


def test_pdf_page_that_cannot_be_extracted_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_content_stream(*args: object, **kwargs: object) -> str:
        raise ValueError("bad content stream")

    monkeypatch.setattr(pypdf.PageObject, "extract_text", broken_content_stream)
    with pytest.raises(DocumentError, match="第 1 页") as caught:
        read_document(pdf_bytes(PAGES), "a.pdf")
    assert caught.value.reason == "corrupt_pdf"


# --- type detection and file names --------------------------------------------------


def test_content_decides_over_the_suffix() -> None:
    document = docx.Document()
    document.add_paragraph(MEASURE)
    assert read_document(pdf_bytes(PAGES), "措施.docx").startswith(PAGES[0][0])
    assert read_document(docx_bytes(document), "措施.pdf") == MEASURE
    assert read_document(docx_bytes(document), "措施.doc") == MEASURE
    assert read_document(docx_bytes(document), "措施.txt") == MEASURE


@pytest.mark.parametrize(
    ("filename", "suffix"),
    [
        ("措施.docx", ".docx"),
        ("../../措施.DOCX", ".docx"),
        ("/etc/passwd", ""),
        ("C:\\Users\\a\\方案.Pdf", ".pdf"),
        ("evil.pdf\0.txt", ".txt"),
        ("a.txt/..", ""),
        (".docx", ""),
        ("报告.docx. ", ".docx"),
        ("", ""),
    ],
)
def test_only_the_basename_suffix_counts(filename: str, suffix: str) -> None:
    assert file_suffix(filename) == suffix


def test_path_tricks_do_not_change_how_a_file_is_read() -> None:
    document = docx.Document()
    document.add_paragraph(MEASURE)
    for name in ["../../措施.docx", "/tmp/措施.docx", "措施\0.docx", "..\\措施.docx"]:
        assert read_document(docx_bytes(document), name) == MEASURE


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", b"\xef\xbb\xbf", "\u3000\n".encode()])
def test_empty_input_is_refused(data: bytes) -> None:
    assert refusal(data, "a.txt") == "empty"


MINIMAL_DOCX = {
    "[Content_Types].xml": b"""<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Override PartName="/word/document.xml"
 ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>""",
    "_rels/.rels": b"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Target="word/document.xml"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>
</Relationships>""",
    "word/document.xml": f"""<w:document {nsdecls("w")}><w:body>
<w:p><w:pPr><w:numPr><w:ilvl w:val="x"/><w:numId w:val="7"/></w:numPr></w:pPr>
<w:r><w:t>没有编号定义的段落</w:t></w:r></w:p>
<w:sdt><w:sdtContent><w:p><w:r><w:t>内容控件中的段落</w:t></w:r></w:p></w:sdtContent></w:sdt>
</w:body></w:document>""".encode(),
}


def test_minimal_word_package_without_styles_or_numbering() -> None:
    assert read_document(zip_bytes(MINIMAL_DOCX), "a.docx").splitlines() == [
        "没有编号定义的段落",
        "内容控件中的段落",
    ]


def test_empty_word_document_is_refused() -> None:
    assert refusal(docx_bytes(docx.Document()), "a.docx") == "empty"


def test_oversize_input_is_refused_before_parsing() -> None:
    assert refusal(b"x" * 11, "a.pdf", max_bytes=10) == "too_large"
    assert read_document(b"x" * 10, "a.txt", max_bytes=10) == "x" * 10


@pytest.mark.parametrize(
    "data",
    [bytes(range(256)), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", b"\xff\x80\x81\x30\xfe\xfe\xfe" * 3],
    ids=["all-bytes", "png", "undecodable"],
)
def test_binary_data_is_refused(data: bytes) -> None:
    assert refusal(data, "a.txt") == "binary"


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "scan.png", "unsupported_type"),
        (reading.OLE_MAGIC + b"\0" * 512, "old.doc", "unsupported_type"),
        (reading.OLE_MAGIC + "EncryptionInfo".encode("utf-16-le"), "locked.docx", "encrypted"),
        (MEASURE.encode(), "措施.docx", "corrupt_docx"),
        (MEASURE.encode(), "措施.pdf", "corrupt_pdf"),
    ],
)
def test_unreadable_types_are_refused_clearly(data: bytes, filename: str, reason: str) -> None:
    assert refusal(data, filename) == reason


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def docx_members() -> dict[str, bytes]:
    document = docx.Document()
    document.add_paragraph(MEASURE)
    with zipfile.ZipFile(io.BytesIO(docx_bytes(document))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_corrupt_word_files_are_refused() -> None:
    members = docx_members()
    broken_xml = {**members, "word/document.xml": b"<w:document><w:body><w:p>"}
    missing_types = {k: v for k, v in members.items() if k != "[Content_Types].xml"}
    whole = zip_bytes(members)

    assert refusal(zip_bytes(broken_xml), "a.docx") == "corrupt_docx"
    assert refusal(zip_bytes(missing_types), "a.docx") == "corrupt_docx"
    assert refusal(whole[: len(whole) // 2], "a.docx") == "corrupt_docx"
    assert refusal(zip_bytes({"xl/workbook.xml": b"<x/>"}), "a.docx") == "corrupt_docx"
    assert refusal(zip_bytes({"xl/workbook.xml": b"<x/>"}), "a.xlsx") == "unsupported_type"


def test_zip_bomb_is_refused_before_inflating() -> None:
    bomb = zip_bytes({**docx_members(), "word/media/image1.png": bytes(12 * 1024 * 1024)})
    assert len(bomb) < 200_000
    assert refusal(bomb, "a.docx") == "too_large"


def test_unpacked_size_and_member_count_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_bytes(docx_members())
    monkeypatch.setattr(reading, "MAX_DOCX_UNPACKED", 1000)
    assert refusal(data, "a.docx") == "too_large"
    monkeypatch.setattr(reading, "MAX_DOCX_UNPACKED", 10**9)
    monkeypatch.setattr(reading, "MAX_DOCX_MEMBERS", 3)
    assert refusal(data, "a.docx") == "too_large"


# --- number formats -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (1, "chineseCounting", "一"),
        (10, "chineseCounting", "十"),
        (11, "chineseCounting", "十一"),
        (20, "chineseCountingThousand", "二十"),
        (105, "chineseCounting", "一百零五"),
        (110, "chineseCounting", "一百一十"),
        (1010, "chineseCounting", "一千零一十"),
        (10, "ideographDigital", "一〇"),
        (3, "chineseLegalSimplified", "叁"),
        (12, "decimalFullWidth", "１２"),
        (3, "decimalEnclosedCircleChinese", "③"),
        (3, "decimalEnclosedParen", "⑶"),
        (28, "upperLetter", "BB"),
        (7, "decimalZero", "07"),
        (7, "bogusFormat", "7"),
        (7, "none", ""),
    ],
)
def test_number_formats(value: int, number_format: str, shown: str) -> None:
    assert format_number(value, number_format) == shown
