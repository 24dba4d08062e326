"""Data Docs that open without internet: the style sheets, scripts and fonts that Great Expectations' pages load from
public CDNs are copied into the site (static/offline/) and the pages pointed at them by relative paths, so the site
works from file:// and when served over HTTP under any prefix. Government offices often have no internet: without
this the index shows no validation results (its tables are drawn by scripts from the CDN) and no page is styled.

The files are shipped with warmline in data_docs_assets/ beside this module (the same versions the pages name, each
with its licence; data_docs_assets/README.md says where they come from). Pure: writes only into the site folder.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

OFFLINE = "static/offline"  # where in the site the shipped files are copied, data_docs_assets/'s tree as it is
SHIPPED = "data_docs_assets"  # beside this module

# The CDN URL a page names (its query left out) → the file in the site that replaces it.
CDN_FILES: dict[str, str] = {
    # npm jquery@3.7.1, dist/jquery.min.js
    "https://code.jquery.com/jquery-3.7.1.min.js": f"{OFFLINE}/jquery@3.7.1/jquery.min.js",
    # npm bootstrap@4.3.1, dist/css/bootstrap.min.css
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        f"{OFFLINE}/bootstrap@4.3.1/css/bootstrap.min.css",
    # npm bootstrap@4.3.1, dist/js/bootstrap.min.js (the sha384 the page's integrity attribute names)
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        f"{OFFLINE}/bootstrap@4.3.1/js/bootstrap.min.js",
    # npm popper.js@1.12.9, dist/umd/popper.min.js (the sha384 the page's integrity attribute names)
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        f"{OFFLINE}/popper.js@1.12.9/umd/popper.min.js",
    # npm bootstrap-table@1.19.1, dist/bootstrap-table.min.css
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        f"{OFFLINE}/bootstrap-table@1.19.1/bootstrap-table.min.css",
    # npm bootstrap-table@1.19.1, dist/bootstrap-table.min.js
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        f"{OFFLINE}/bootstrap-table@1.19.1/bootstrap-table.min.js",
    # npm bootstrap-table@1.19.1, dist/extensions/filter-control/bootstrap-table-filter-control.min.js
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        f"{OFFLINE}/bootstrap-table@1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js",
    # npm bootstrap-table@1.19.1, dist/extensions/filter-control/bootstrap-table-filter-control.min.css: 1.19.0's
    # (minified or not) has the same rules, only its version comment differs
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        f"{OFFLINE}/bootstrap-table@1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.css",
    # the same file (see above)
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        f"{OFFLINE}/bootstrap-table@1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.css",
    # npm bootstrap-datepicker@1.9.0, dist/css/bootstrap-datepicker.min.css
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        f"{OFFLINE}/bootstrap-datepicker@1.9.0/css/bootstrap-datepicker.min.css",
    # npm bootstrap-datepicker@1.9.0, dist/js/bootstrap-datepicker.min.js
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        f"{OFFLINE}/bootstrap-datepicker@1.9.0/js/bootstrap-datepicker.min.js",
    # npm @forevolve/bootstrap-dark@1.1.0, dist/css/bootstrap-prefers-dark.min.css (the page names the unminified one)
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        f"{OFFLINE}/bootstrap-dark@1.1.0/css/bootstrap-prefers-dark.min.css",
    # npm @fortawesome/fontawesome-free@6.6.0, css/all.min.css (its fonts: webfonts/*.woff2 beside it)
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        f"{OFFLINE}/fontawesome-free@6.6.0/css/all.min.css",
    # npm vega@5.33.1, build/vega.min.js: what the CDN served for vega@5 when it was shipped
    "https://cdn.jsdelivr.net/npm/vega@5": f"{OFFLINE}/vega@5.33.1/vega.min.js",
    # npm vega-lite@5.23.0, build/vega-lite.min.js: the CDN's vega-lite@5 then
    "https://cdn.jsdelivr.net/npm/vega-lite@5": f"{OFFLINE}/vega-lite@5.23.0/vega-lite.min.js",
    # npm vega-embed@6.29.0, build/vega-embed.min.js: the CDN's vega-embed@6 then
    "https://cdn.jsdelivr.net/npm/vega-embed@6": f"{OFFLINE}/vega-embed@6.29.0/vega-embed.min.js",
    # Great Expectations' own logo, written into every site; the CDN's copy also tells GX who opened the page
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png": "static/images/logo-long.png",
    # the dark-mode logo has no copy anywhere but the CDN: dark mode shows the light one
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png":
        "static/images/logo-long.png",
}

EXTERNAL = r"(?:https?:)?//[^\"'()\s>]+"
# Tags whose URL the browser loads as it draws the page (an <a href> is only followed when clicked).
LOADING_TAG = re.compile(r"<(link|script|img|iframe|source|embed|audio|video|track|input)\b[^>]*>", re.I)
LOADED_ATTRIBUTE = {"link": "href"}  # the others load their src
LOADED_URL = {name: re.compile(rf"""\s{name}\s*=\s*(["'])({EXTERNAL})\1""", re.I) for name in ("href", "src")}
# CSS loads, url(…) and @import "…": two patterns, as one alternation was ten times slower. Groups: before, quote,
# URL, after.
CSS_LOADS = [re.compile(rf"""([uU][rR][lL]\(\s*(["']?))({EXTERNAL})(\2\s*\))"""),
             re.compile(rf"""(@[iI][mM][pP][oO][rR][tT]\s+(["']))({EXTERNAL})(\2)""")]
DROPPED_ATTRIBUTE = re.compile(r"""\s+(?:integrity|crossorigin)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?""", re.I)


@dataclass
class OfflineReport:
    """What make_offline() did to a site: files looked at and rewritten, shipped files copied, and each external URL
    a page still loads (URL → the files naming it), which works only online."""

    files: int = 0
    rewritten: int = 0
    copied: int = 0
    unreplaced: dict[str, list[Path]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # mapped files that are not there: their URLs are kept

    def warnings(self) -> list[str]:
        """One line per problem, naming the file and what to do."""
        lines = [f"{url} is still loaded from the internet by {len(files)} Data Docs file(s), e.g. {files[0]}: those "
                 f"pages need internet; add the URL and a shipped copy to CDN_FILES in {__name__.replace('.', '/')}.py"
                 for url, files in sorted(self.unreplaced.items())]
        shipped = f"{__name__.rsplit('.', 1)[0].replace('.', '/')}/{SHIPPED}"
        lines += [f"{target} is missing from the Data Docs site: the pages keep loading it from the internet; "
                  + (f"reinstall warmline with its {shipped}/ files" if target.startswith(OFFLINE)
                     else "rebuild the site (delete its index.html and run `warmline docs`)")
                  for target in self.missing]
        return lines


def make_offline(site: Path) -> OfflineReport:
    """Copy the shipped assets into the built Data Docs `site` (the folder of index.html) and point every page and
    style sheet at them; idempotent (a second run writes nothing)."""
    site = Path(site)
    report = OfflineReport()
    report.copied = copy_shipped(site)
    present = {url: target for url, target in CDN_FILES.items() if (site / target).is_file()}
    report.missing = sorted({t for t in CDN_FILES.values() if not (site / t).is_file()})
    for path in site_files(site):
        report.files += 1
        text = path.read_bytes().decode("utf-8", "surrogateescape")  # as it is: no newline translated
        local, kept = localise(text, path.parent.relative_to(site).as_posix(), present, path.suffix == ".css")
        for url in kept:
            if url.split("?", 1)[0] not in CDN_FILES:  # a known one kept for want of its file is in report.missing
                report.unreplaced.setdefault(url, []).append(path)
        if local != text:
            write_atomically(path, local)
            report.rewritten += 1
    return report


def copy_shipped(site: Path) -> int:
    """Copy data_docs_assets/ into site/static/offline/, skipping files already there with the same bytes; how many
    were copied."""
    copied = 0
    shipped = resources.files(__package__) / SHIPPED
    if not shipped.is_dir():  # installed without its package data: make_offline() reports each file missing
        return 0
    todo = [(shipped, site / OFFLINE)]
    while todo:
        source, target = todo.pop()
        for item in source.iterdir():
            if item.is_dir():
                todo.append((item, target / item.name))
                continue
            data = item.read_bytes()
            dest = target / item.name
            if dest.is_file() and dest.stat().st_size == len(data) and dest.read_bytes() == data:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(dest, data)
            copied += 1
    return copied


def site_files(site: Path) -> list[Path]:
    """The pages and style sheets Great Expectations wrote (not the copied assets)."""
    offline = site / OFFLINE
    return [p for pattern in ("*.html", "*.css") for p in sorted(site.rglob(pattern)) if offline not in p.parents]


def localise(text: str, folder: str, targets: dict[str, str], is_css: bool) -> tuple[str, list[str]]:
    """`text` (a page or a style sheet in `folder`, relative to the site) with every loaded CDN URL in `targets`
    replaced by the relative path to its local file; and the external URLs it still loads."""
    kept = []

    def local(url: str) -> str | None:
        target = targets.get(url.split("?", 1)[0])
        if not target:
            kept.append(url)
        return posixpath.relpath(target, folder or ".") if target else None

    def css_load(m: re.Match) -> str:
        path = local(m.group(3))
        return f"{m.group(1)}{path}{m.group(4)}" if path else m.group(0)

    def tag(m: re.Match) -> str:
        found = LOADED_URL[LOADED_ATTRIBUTE.get(m.group(1).lower(), "src")].search(m.group(0))
        path = local(found.group(2)) if found else None
        if not path:
            return m.group(0)
        rewritten = m.group(0)[:found.start(2)] + path + m.group(0)[found.end(2):]
        # a local file has no CORS headers: a crossorigin or integrity check on file:// would refuse it
        return DROPPED_ATTRIBUTE.sub("", rewritten)

    for pattern in CSS_LOADS:
        text = pattern.sub(css_load, text)
    return (text if is_css else LOADING_TAG.sub(tag, text)), kept


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write `content` to `path` through a temporary file beside it: a page cut short by a crash would stay broken."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content)
    tmp.replace(path)
