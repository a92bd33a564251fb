"""The pages in a real browser: the whole 督办 story, from 签收 to 销号, and a file import."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import Site, screenshot, sign_in, sign_out
from tests.service.conftest import import_plan
from tests.service.test_pages_admin import word_file

pytestmark = pytest.mark.e2e

MEASURE = "建设智慧路口"


@pytest.fixture
def imported(site: Site) -> int:
    report = import_plan(
        site.database, site.clock, "行动方案.txt", default_deadline=date(2026, 12, 31)
    )
    return report.document_id


def act(page: Page, action: str, **fields: str) -> None:
    """Open the action's form on the item page, fill its fields by label and send it."""
    box = page.locator("details.action").filter(has=page.locator("summary", has_text=action))
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    for label, value in fields.items():
        box.get_by_label(label).fill(value)
    box.get_by_role("button", name=action).click()
    page.wait_for_load_state()


def count(page: Page, colour: str) -> int:
    return int(page.locator(f'.count-card[data-colour="{colour}"] .number').inner_text())


def open_item(page: Page, title: str) -> None:
    page.get_by_role("link", name=re.compile(title)).first.click()
    expect(page.locator("h1")).to_contain_text(title)


def test_staff_and_supervisor_take_an_item_from_assigned_to_signed_off(
    page: Page, site: Site, imported: int
) -> None:
    sign_in(page, site, "staff")
    expect(page.locator("h1")).to_have_text("我的任务")
    expect(page.locator("section.group.red")).to_contain_text(MEASURE)
    expect(page.locator("body")).not_to_contain_text("完善通信网络")  # another unit's item
    screenshot(page, "my-tasks")
    open_item(page, MEASURE)
    act(page, "签收")
    expect(page.locator(".flash")).to_contain_text("签收")
    expect(page.locator("dd.status")).to_have_text("已签收")

    act(page, "报送进展", 说明="", 佐证材料链接="ftp://not-a-web-link")
    expect(page.locator(".field-error").first).to_contain_text("http(s)")
    act(page, "报送进展", 说明="已建成智慧路口 80 个", 佐证材料链接="https://oa.example.gov.cn/1")
    expect(page.locator("dd.status")).to_have_text("办理中")
    expect(page.locator(".history")).to_contain_text("已建成智慧路口 80 个")
    screenshot(page, "item")
    act(page, "申请办结", 说明="全部建成")
    expect(page.locator("dd.status")).to_have_text("待销号")
    sign_out(page)

    sign_in(page, site, "supervisor")
    expect(page.locator("h1")).to_have_text("督办总览")
    red_before, done_before = count(page, "red"), count(page, "done")
    expect(page.locator("svg.chart")).to_contain_text("市交通运输局")
    screenshot(page, "overview")
    open_item(page, MEASURE)
    act(page, "退回", 理由="")
    expect(page.locator(".field-error").first).to_contain_text("理由")
    act(page, "退回", 理由="佐证材料不全，请补充验收报告")
    expect(page.locator("dd.status")).to_have_text("已退回")
    sign_out(page)

    sign_in(page, site, "staff")
    open_item(page, MEASURE)
    expect(page.locator(".history")).to_contain_text("佐证材料不全")
    act(page, "报送进展", 说明="已补充验收报告", 佐证材料链接="https://oa.example.gov.cn/2")
    act(page, "申请办结", 说明="已补充")
    expect(page.locator("dd.status")).to_have_text("待销号")
    sign_out(page)

    sign_in(page, site, "supervisor")
    open_item(page, MEASURE)
    act(page, "销号")
    expect(page.locator("dd.status")).to_have_text("已销号")
    page.get_by_role("link", name="督办总览").click()
    assert count(page, "done") == done_before + 1
    assert count(page, "red") == red_before - 1


def test_user_text_is_shown_as_text(page: Page, site: Site, imported: int) -> None:
    sign_in(page, site, "staff")
    open_item(page, MEASURE)
    act(page, "签收")
    act(page, "报送进展", 说明='<img src=x onerror="document.title=1">进展')
    expect(page.locator(".history")).to_contain_text('<img src=x onerror="document.title=1">')
    assert page.title() != "1"


def test_admin_uploads_a_docx_previews_and_confirms_the_import(
    page: Page, site: Site, tmp_path: Path
) -> None:
    plan = tmp_path / "营商环境方案.docx"
    plan.write_bytes(word_file())
    sign_in(page, site, "admin")
    page.get_by_role("link", name="文件").click()
    expect(page.locator("h1")).to_have_text("文件")
    page.locator("input[type=file]").set_input_files(str(plan))
    page.get_by_label("默认时限").fill("2026-12-31")
    screenshot(page, "files")
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("h1")).to_have_text("某区2026年营商环境优化工作方案")
    expect(page.locator("body")).to_contain_text("推行一窗通办")
    expect(page.locator("body")).to_contain_text("区政务服务中心")  # a unit new to the directory
    screenshot(page, "preview")
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator(".flash.success")).to_contain_text("已导入")
    expect(page.locator("body")).to_contain_text("某区2026年营商环境优化工作方案")

    sign_out(page)
    sign_in(page, site, "staff")
    expect(page.locator("body")).to_contain_text("推行一窗通办")  # 市交通局 is an alias of A
