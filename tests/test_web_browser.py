"""A clerk's pages driven in a real browser (the system's Chromium through Playwright) against the real thing:
`warmline serve` reading what lands, on a Prefect server, and `warmline web` serving the pages. A clerk uploads a
good workbook and sees its figures as read, with the headers that were inferred or left unread; uploads a broken
one and sees the located problems and the template to download; another unit's link never reaches either.
Screenshots of the pages go to docs/screenshots/web/ (README, 'The web pages')."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, clean_env, make_home, start_web, write_rows
from tests.test_cli import warmline

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "web"
LINK = re.compile(r"^http://\S+/u/(\S+)$", re.M)


@pytest.fixture
def running(prefect_server, tmp_path):
    """A home with links for two units, `warmline serve` and `warmline web` running on it; both stopped after."""
    layout = make_home(tmp_path / "home")
    tokens = {}
    for unit in ("浈江区", "武江区"):
        made = warmline(layout.home, "web", "token", "add", unit)
        assert made.returncode == 0, made.stderr
        tokens[unit] = LINK.search(made.stdout).group(1)
    env = clean_env(PREFECT_API_URL=prefect_server["api"], PREFECT_HOME=str(prefect_server["home"]),
                    WARMLINE_HOME=str(layout.home))
    service = subprocess.Popen([str(BIN / "warmline"), "serve"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    web, base = start_web(env)
    processes = [service, web]
    yield {"layout": layout, "base": base, "links": {u: f"{base}/u/{t}" for u, t in tokens.items()},
           "prefect_ui": prefect_server["api"].removesuffix("/api")}
    for process in processes:
        os.killpg(process.pid, signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def outcome_shown(page, timeout: float = 120) -> str:
    """Wait for the upload's page (it refreshes itself, without JavaScript) to show an outcome; the outcome."""
    page.wait_for_selector("#state:not([data-state=waiting])", timeout=timeout * 1000)
    return page.get_attribute("#state", "data-state")


def test_a_clerk_uploads_and_sees_what_was_understood_or_where_the_problems_are(running, browser, tmp_path):
    good = write_rows(tmp_path / "浈江区12月21日.xlsx", [
        ["浈江区寒冬送温暖工作统计表"],
        ["填报单位：浈江区民政局", "", "统计截止日期：2023年12月21日"],
        ["乡镇（街道）", "探访困难家庭（户）", "发放棉被（床）", "暖心物资包（份）"],
        ["合计", 812, 300, 40],
    ])
    broken = write_rows(tmp_path / "浈江区12月22日.xlsx", [
        ["浈江区寒冬送温暖工作统计表"],
        ["填报单位：浈江区民政局", "", "统计截止日期：2023年12月22日"],
        ["乡镇（街道）", "走访慰问户数（户）", "发放棉被（床）"],
        ["合计", "很多", 300],
    ])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    clerk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    clerk.goto(running["links"]["浈江区"])
    assert clerk.url == running["base"] + "/unit"  # the link opened a session; the token is out of the address
    assert "浈江区：上传统计表" in clerk.inner_text("h1")
    clerk.screenshot(path=str(SCREENSHOTS / "clerk-upload.png"), full_page=True)

    clerk.set_input_files("#file", str(good))
    clerk.click("button[type=submit]")
    assert outcome_shown(clerk) == "loaded"
    figures = clerk.inner_text("table.figures")
    # each figure: the indicator in Chinese, the value as read with its unit, the text written, the cell
    assert re.search(r"走访慰问户数\s+households visited\s+812 户\s+812\s+合计 total\s+统计表!B4", figures), figures
    assert re.search(r"发放物资合计（棉被）.*?300 件\s+300\s+合计 total\s+统计表!C4", figures, re.S), figures
    headers = clerk.inner_text("table.headers")
    assert "探访困难家庭" in headers and "推断 inferred" in headers  # inferred, so the clerk can check it
    assert "暖心物资包" in headers and "未读取 not read" in headers  # left unread, and said so
    assert "统计表!D4" in clerk.inner_text("table.unmapped") and "40" in clerk.inner_text("table.unmapped")
    accepted_url = clerk.url
    clerk.screenshot(path=str(SCREENSHOTS / "clerk-accepted.png"), full_page=True)

    clerk.goto(running["base"] + "/unit")
    clerk.set_input_files("#file", str(broken))
    clerk.click("button[type=submit]")
    assert outcome_shown(clerk) == "rejected"
    problems = clerk.inner_text("table.issues")
    assert "统计表!B4" in problems and "很多" in problems  # where, and what was found there
    assert clerk.get_attribute("a.button", "href") == "/unit/template.xlsx"
    with clerk.expect_download() as download:
        clerk.click("a.button")
    assert download.value.suggested_filename.endswith("统计表.xlsx")
    clerk.screenshot(path=str(SCREENSHOTS / "clerk-rejected.png"), full_page=True)

    listing = clerk.goto(running["base"] + "/unit") and clerk.inner_text("table")
    assert "浈江区12月21日.xlsx" in listing and "已入库" in listing and "退回" in listing

    other = browser.new_context(locale="zh-CN").new_page()
    other.goto(running["links"]["武江区"])
    assert "武江区" in other.inner_text("h1") and "浈江区12月21日" not in other.content()
    response = other.goto(accepted_url)
    assert response.status == 404 and "没有这份上传记录" in other.inner_text("main")


def upload_and_wait(clerk, base: str, workbook: Path) -> str:
    clerk.goto(base + "/unit")
    clerk.set_input_files("#file", str(workbook))
    clerk.click("button[type=submit]")
    return outcome_shown(clerk)


def test_the_statistician_reviews_a_header_publishes_past_a_blocking_check_and_downloads_the_bulletin(
        running, browser, tmp_path):
    home, base = running["layout"].home, running["base"]
    password = "寒冬 warm line 2023"
    set_password = subprocess.run([str(BIN / "warmline"), "web", "password", "--stdin"], input=password + "\n",
                                  env=clean_env(WARMLINE_HOME=str(home)), capture_output=True, text=True, timeout=60)
    assert set_password.returncode == 0, set_password.stderr
    # 浈江区's households visited fall from 500 (18th) to 450 (19th): a cumulative figure falling blocks the 19th
    days = {}
    for day, households in (("18", 500), ("19", 450)):
        days[day] = write_rows(tmp_path / f"浈江区12月{day}日.xlsx", [
            ["浈江区寒冬送温暖工作统计表"],
            ["填报单位：浈江区民政局", "", f"统计截止日期：2023年12月{day}日"],
            ["乡镇（街道）", "走访慰问户数（户）", "暖心物资包（份）"],
            ["合计", households, 40],
        ])
    clerk = browser.new_context(locale="zh-CN").new_page()
    clerk.goto(running["links"]["浈江区"])
    assert [upload_and_wait(clerk, base, days[d]) for d in ("18", "19")] == ["loaded", "loaded"]
    broken = write_rows(tmp_path / "浈江区12月20日.xlsx", [
        ["填报单位：浈江区民政局", "", "统计截止日期：2023年12月20日"],
        ["乡镇（街道）", "走访慰问户数（户）"],
        ["合计", "很多"],
    ])
    assert upload_and_wait(clerk, base, broken) == "rejected"

    page = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(base + "/day")
    assert page.url == base + "/login"  # nothing without logging in
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert "密码不正确" in page.inner_text("main")
    page.fill("#password", password)
    page.click("button[type=submit]")
    assert page.url == base + "/day"
    assert page.get_attribute("a:text('Prefect UI')", "href") == running["prefect_ui"]  # the runs, in Prefect's UI

    # the header review: accept the header no rule could read, and the files that have it are read again
    page.goto(base + "/headers")
    row = page.locator("table.unread-headers tr", has_text="暖心物资包")
    assert row.count() == 1 and "2 / 2" in row.inner_text()  # two files, two cells
    page.screenshot(path=str(SCREENSHOTS / "statistician-headers.png"), full_page=True)
    row.locator("select").select_option("items_issued")
    row.locator("button").click()
    assert "已采纳" in page.inner_text("#message"), page.inner_text("#message")
    assert "Read 2 file(s) again" in page.inner_text("#message pre")
    assert page.locator("table.unread-headers tr", has_text="暖心物资包").count() == 0

    # the 19th: blocked; publishing anyway needs a reason, which is recorded
    page.goto(base + "/day?date=2023-12-19")
    assert "累计数下降" in page.inner_text("#status") and "阻止发布 BLOCKS" in page.inner_text("#status")
    page.click("#publish")
    assert "未发布" in page.inner_text("#message")
    page.check("#force")
    page.click("#publish")  # no reason given
    assert "必须填写理由" in page.inner_text("#message")
    page.check("#force")
    page.fill("#reason", "浈江区电话确认：18日数字多报，19日为准")
    page.click("#publish")
    assert "已发布（越过阻止发布的核查，理由已记录）" in page.inner_text("#message")
    assert "浈江区电话确认：18日数字多报，19日为准" in page.inner_text("#status")  # the status says why
    page.screenshot(path=str(SCREENSHOTS / "statistician-day.png"), full_page=True)
    # the status refreshes itself without a reload: the section is fetched again and replaced in place
    page.evaluate("document.getElementById('status').setAttribute('data-marker', 'before')")
    page.wait_for_selector("#status[data-refreshed]", timeout=30_000)
    assert page.get_attribute("#status", "data-marker") == "before"  # the same page, not reloaded
    assert "浈江区电话确认：18日数字多报，19日为准" in page.inner_text("#status")
    with page.expect_download() as download:
        page.click("a[href='/day/2023-12-19/bulletin/bulletin.docx']")
    saved = tmp_path / "bulletin.docx"
    download.value.save_as(saved)
    from docx import Document

    text = "\n".join(p.text for p in Document(str(saved)).paragraphs)
    assert "450" in text and "草稿" not in text  # the release, with the 19th's figure

    # a file of the day with its validation results, from the stored results
    page.goto(base + "/day?date=2023-12-19")
    page.click("table.files a")
    assert "浈江区12月19日.xlsx" in page.inner_text("main")  # the clerk's name for it
    validation = page.inner_text("table.validation >> nth=0")
    assert "通过 pass" in validation and "unexpected" in validation
    page.screenshot(path=str(SCREENSHOTS / "statistician-file.png"), full_page=True)

    # a rejected file: its problems, and the report the clerk was given
    page.goto(base + "/day?date=2023-12-20")
    page.click("table.files a")
    assert "统计表!B3" in page.inner_text("table.issues") and "很多" in page.inner_text("table.issues")
    page.click("#report")
    assert "文件被退回，未计入统计" in page.inner_text("body") and "“很多”" in page.inner_text("body")

    # the Data Docs pages built from the day page, then served by warmline with every request outside it refused
    page.goto(base + "/day?date=2023-12-19")
    page.click("#build-docs")
    assert re.search(r"已生成 \d+ 个校验报告页面", page.inner_text("#message"))
    assert page.locator("#build-docs").count() == 0  # nothing left to build
    outside = []

    def only_warmline(route):
        if route.request.url.startswith(base):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.context.route("**/*", only_warmline)
    page.goto(base + "/docs/index.html")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    rows = page.locator("table.ge-index-page-validation-results-table tbody tr")
    rows.first.wait_for(timeout=30_000)  # the runs' table, drawn by the shipped scripts
    runs = page.inner_text("table.ge-index-page-validation-results-table")
    assert "440204_2023-12-19" in runs and "figures" in runs and "submission" in runs
    assert outside == [] and errors == []
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != ""

    page.goto(base + "/day")
    page.click("text=退出 log out")
    assert page.url == base + "/login"
    assert page.goto(base + "/day") and page.url == base + "/login"
