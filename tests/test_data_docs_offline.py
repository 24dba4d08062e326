"""The Data Docs open without internet: a site built the way `warmline docs` builds it loads no style sheet, script
or font from a CDN, and headless Chromium with the network blocked shows the validation runs and results, styled."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ingest_inbox, land_mixed_batch, make_home
from transforms.ingest.ingestor import Ingestor
from transforms.validate.data_docs import build_pending_pages, docs_index, stored_validations
from transforms.validate import offline_assets
from transforms.validate.offline_assets import OFFLINE, make_offline
from transforms.validate.suites import SubmissionValidator

# What a browser loads as it draws a page: a <link href>, any src, a CSS url(…) or @import.
LOADED = re.compile(r"""<link\b[^>]*\shref\s*=\s*["']([^"']+)["']|\ssrc\s*=\s*["']([^"']+)["']"""
                    r"""|url\(\s*["']?([^"')]+)["']?\s*\)|@import\s+["']([^"']+)["']""", re.I)


def loaded_urls(path: Path) -> list[str]:
    return [next(g for g in m.groups() if g) for m in LOADED.finditer(path.read_text(encoding="utf-8"))]


def pages_and_style_sheets(site: Path) -> list[Path]:
    return sorted(p for pattern in ("*.html", "*.css") for p in site.rglob(pattern))


@pytest.fixture(scope="module")
def quality(tmp_path_factory, ref, reader) -> Path:
    """A home's data/quality/ after the mixed batch was ingested and `warmline docs` built its 16 pages."""
    root = tmp_path_factory.mktemp("offline")
    layout = make_home(root / "home")
    land_mixed_batch(layout, ref, root / "scratch")
    ingest_inbox(Ingestor(layout, ref, SubmissionValidator(ref, quality_dir=layout.quality), reader, quiet_seconds=0))
    built = build_pending_pages(layout.quality)
    assert (built.kept, built.built) == (16, 16)
    return layout.quality


@pytest.fixture(scope="module")
def site(quality) -> Path:
    return docs_index(quality).parent


@pytest.mark.slow
def test_no_page_loads_a_stylesheet_script_or_font_from_the_internet(site):
    files = pages_and_style_sheets(site)
    assert len([p for p in files if p.suffix == ".html"]) == 20  # the index, 3 suites, 16 validation results
    for path in files:
        for url in loaded_urls(path):
            assert not re.match(r"(https?:)?//", url), f"{path.relative_to(site)} loads {url}"
            # what make_offline() pointed the pages at, and what the shipped files load, is there (Great
            # Expectations' own favicon link is one folder short on a validation page: not ours to mend)
            if OFFLINE in url or url.endswith("logo-long.png") or (site / OFFLINE) in path.parents:
                if url.startswith("data:"):
                    continue
                # of Font Awesome's fonts only the .woff2 are shipped: the .ttf is a fallback that a browser reading
                # woff2 never fetches
                local = re.sub(r"\.ttf$", ".woff2", url)
                assert (path.parent / local).resolve().is_file(), f"{path.relative_to(site)}: {url}"
    # the shipped copies came with their licences
    assert {p.parent.name for p in (site / OFFLINE).rglob("LICENSE*")} == {p.name for p in (site / OFFLINE).iterdir()
                                                                           if p.is_dir()}


@pytest.mark.slow
def test_making_a_site_offline_twice_changes_nothing(site, tmp_path):
    site = shutil.copytree(site, tmp_path / "site", copy_function=shutil.copy2)  # the other tests see the build's
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in site.rglob("*") if p.is_file()}
    report = make_offline(site)
    assert (report.files, report.rewritten, report.copied, report.unreplaced, report.missing) == (22, 0, 0, {}, [])
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in site.rglob("*") if p.is_file()} == before


def test_a_cdn_url_without_a_shipped_copy_is_reported_with_its_page(tmp_path):
    page = tmp_path / "validations" / "suite" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text('<link rel="stylesheet" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/'
                    'all.min.css">\n<script src="https://cdn.example.org/chart.js" integrity="sha384-x"></script>\n'
                    '<script src="https://code.jquery.com/jquery-3.7.1.min.js" integrity="sha384-y" '
                    'crossorigin="anonymous"></script>\n<a href="https://greatexpectations.io">GX</a>\n',
                    encoding="utf-8")
    report = make_offline(tmp_path)
    assert page.read_text(encoding="utf-8") == (
        '<link rel="stylesheet" href="../../static/offline/fontawesome-free@6.6.0/css/all.min.css">\n'
        '<script src="https://cdn.example.org/chart.js" integrity="sha384-x"></script>\n'  # left to work online
        '<script src="../../static/offline/jquery@3.7.1/jquery.min.js"></script>\n'  # no CORS check on a file
        '<a href="https://greatexpectations.io">GX</a>\n')  # a link followed only when clicked
    assert report.unreplaced == {"https://cdn.example.org/chart.js": [page]}
    # this bare folder has no Great Expectations logo: its CDN URLs are kept, and said
    assert report.missing == ["static/images/logo-long.png"]
    (warning, missing) = report.warnings()
    assert str(page) in warning and "CDN_FILES in transforms/validate/offline_assets.py" in warning
    assert missing.startswith("static/images/logo-long.png is missing from the Data Docs site: the pages keep "
                              "loading it from the internet; rebuild the site")


def test_without_the_shipped_files_the_pages_keep_their_cdn_urls_and_each_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(offline_assets, "SHIPPED", "not_installed")  # a wheel built without its package data
    page = tmp_path / "index.html"
    page.write_text('<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>', encoding="utf-8")
    report = make_offline(tmp_path)
    assert page.read_text(encoding="utf-8") == '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
    assert (report.copied, report.unreplaced) == (0, {})
    assert "static/offline/jquery@3.7.1/jquery.min.js" in report.missing
    assert report.warnings()[1] == ("static/offline/bootstrap-dark@1.1.0/css/bootstrap-prefers-dark.min.css is missing "
                                    "from the Data Docs site: the pages keep loading it from the internet; reinstall "
                                    "warmline with its transforms/validate/not_installed/ files")


# -- in headless Chromium, the network blocked ---------------------------------------------------------------

def open_offline(browser, page_file: Path):
    """`page_file` open in a fresh context where every request but a file:// one is aborted; the page, the requests
    aborted and the script errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    aborted, errors = [], []

    def only_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_file.as_uri(), wait_until="load")
    page.evaluate("document.fonts.ready")
    return page, aborted, errors


def styled_by_bootstrap(page) -> bool:
    """Bootstrap 4's font stack on the body (unstyled, Chromium uses Times New Roman) and its collapsed tables."""
    body = page.locator("body").evaluate("b => getComputedStyle(b).fontFamily")
    table = page.locator("table.table").first.evaluate("t => getComputedStyle(t).borderCollapse")
    return body.startswith("-apple-system") and table == "collapse"


def font_awesome_loaded(page) -> bool:
    return page.evaluate("[...document.fonts].some(f => f.family.includes('Font Awesome') && f.status === 'loaded')")


@pytest.mark.slow
def test_the_index_lists_the_validation_runs_offline(browser, site):
    page, aborted, errors = open_offline(browser, site / "index.html")
    try:
        assert aborted == [] and errors == []
        rows = page.locator("table.ge-index-page-validation-results-table tbody tr")
        assert rows.count() == 10  # bootstrap-table draws the first page of the 16 runs
        assert "Showing 1 to 10 of 16 rows" in page.inner_text("body")
        first = rows.first.inner_text()
        assert "440204_2023-12-20" in first and re.search(r"\b(figures|submission)\b", first)
        assert rows.first.locator("i.fas").count() == 1  # its status, a Font Awesome icon
        assert styled_by_bootstrap(page) and font_awesome_loaded(page)
    finally:
        page.context.close()


@pytest.mark.slow
def test_a_validation_result_page_shows_its_expectations_offline(browser, site, quality):
    (failed,) = [v for v in stored_validations(quality) if v.suite == "figures" and v.run_name.startswith("440204")
                 and not json.loads(v.result.read_text(encoding="utf-8"))["success"]]
    page, aborted, errors = open_offline(browser, failed.page)
    try:
        assert aborted == [] and errors == []
        text = page.inner_text("body")
        assert "Expectation Validation Result" in text and "Status:  Failed" in text
        assert re.search(r"Unsuccessful Expectations\s+1\b", text)
        assert "values must be greater than or equal to" in text and "-5.0" in text  # the negative figure
        assert styled_by_bootstrap(page) and font_awesome_loaded(page)
    finally:
        page.context.close()
