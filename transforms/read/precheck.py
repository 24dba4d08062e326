"""A cheap look at a received file before any reader opens it: refuse what could hurt the reader or is no table.

The spreadsheet reader (calamine, in Rust) aborts the whole process when a file makes it allocate too much
(a cell at XFD1048576, a shared-string count of four billion, a zip bomb), and no try/except catches that.
This module reads the container itself, streaming and bounded, and names what it refuses in a clerk's words.
It is the first defence; the reader's process limits (transforms/read/guarded_reader.py) are the second.
"""

from __future__ import annotations

import html
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from transforms.core.problems import Problem, ProblemFound, problem
from transforms.read.workbook import (CSV_ENCODINGS, CSV_SUFFIXES, MAX_SHEET_CELLS, MAX_SHEET_ROWS, OLE_MAGIC,
                                 SUPPORTED_SUFFIXES, cell_ref, sheet_size_problem, workbook_size_problem)

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_UNPACKED_BYTES = 300 * 2**20  # all parts of a workbook, inflated
MAX_PARTS = 10_000
RATIO_CHECKED_FROM = 10 * 2**20  # a part this big (inflated) ...
MAX_RATIO = 100  # ... may be at most this many times its compressed size; real sheets are 5-30
MAX_COUNT = MAX_SHEET_CELLS  # count="…" attributes the reader trusts to size its tables
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384  # the last cell of an Excel sheet is XFD1048576
_CHUNK = 1 << 20
_MAX_TAG = 1 << 20  # a single XML tag longer than this is no spreadsheet

_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")  # stream name in an encrypted OOXML compound file
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_COUNT = re.compile(rb"\b(?:count|uniqueCount)\s*=\s*[\"'](\d+)")
# xlsx sheets: rows, cells and merged ranges, in document order, with any namespace prefix (x:c is a cell too).
_XLSX_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|mergeCell)(?=[\s/>])([^>]*)>"
                       rb"|<(?:[A-Za-z_][\w.-]*:)?v(?:\s[^>]*)?>([^<]*)<")  # and a cell's value, <v>12</v>
# a number as Excel stores it; NaN and infinity (which scripts write) are left to the reader, which names them
_NUMBER = re.compile(rb"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|(?i:[-+]?(?:nan|inf|infinity))")
_TYPE = re.compile(rb"\bt\s*=\s*[\"']([^\"']*)[\"']")
# The root of a sheet, shared strings or workbook part is in SpreadsheetML's namespace (transitional or strict).
_MAIN_NAMESPACES = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                    "http://purl.oclc.org/ooxml/spreadsheetml/main")
_EXPAT_FAULTS = {  # what expat found (its message), as the malformed-xml template that says it in the clerk's words
    expat.errors.XML_ERROR_TAG_MISMATCH: "tag-mismatch",
    expat.errors.XML_ERROR_UNDEFINED_ENTITY: "undefined-entity",
    expat.errors.XML_ERROR_INVALID_TOKEN: "invalid-token",
    expat.errors.XML_ERROR_NO_ELEMENTS: "incomplete",
    expat.errors.XML_ERROR_UNCLOSED_TOKEN: "incomplete",
}
_REF = re.compile(rb"\br\s*=\s*[\"']\$?([A-Za-z]{1,10})?\$?(\d{1,12})?[\"']")
_RANGE = re.compile(rb"\bref\s*=\s*[\"']([A-Za-z]{0,10})(\d{0,12})(?::([A-Za-z]{0,10})(\d{0,12}))?[\"']")
# ods content.xml: tables, rows and cells, each possibly repeated
_ODS_TAG = re.compile(rb"<(?:[\w.-]+:)?(table|table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*)>"
                      rb"|</(?:[\w.-]+:)?table-row>")
_ODS_ERROR = re.compile(rb"value-type\s*=\s*[\"']error[\"']")  # LibreOffice's calcext:value-type="error"
MAX_ERROR_CELLS = 10  # error cells named one by one in the report; the rest counted
_REPEAT = re.compile(rb"number-(?:rows|columns)-repeated\s*=\s*[\"'](\d{1,12})[\"']")
# XML 1.0 allows five named entities and no C0 control character but tab, line feed and carriage return, written
# or as a character reference; anything else is a part that readers each read their own way
_UNDEFINED_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);|#[0-9]{1,7};|#x[0-9A-Fa-f]{1,6};)([^;<>&\s]{0,40};?)")
_CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_REFERENCE = re.compile(rb"&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01])|x0*(?:[0-8]|[bBcCeEfF]|1[0-9A-Fa-f]));")
_UTF16_STARTS = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")
_MAIN_PARTS = ("xl/workbook.xml", "xl/sharedStrings.xml")
# What is wrong in a part that is not well-formed XML: the byte it is at, the catalogue's malformed-xml template that
# says it, and that template's context.
Fault = tuple[int, str, dict]


def damaged(detail: str) -> Problem:
    """The file is not a whole, valid workbook (cut short in transit, or not what its name says). `detail` is the
    reader's words (zip: BadZipFile …), of use to the statistician only: the clerk's message goes without it."""
    return problem("unreadable-file", variant="damaged", detail_en=detail)


def precheck(content: bytes, file_name: str) -> list[Problem]:
    """Every reason to refuse the file before reading it; empty when a reader may open it."""
    suffix = Path(file_name).suffix.lower()
    if not content:
        return [problem("empty-file")]
    if suffix not in SUPPORTED_SUFFIXES:
        return []  # the reader names the supported types
    if suffix in CSV_SUFFIXES:
        return _csv_problems(content)
    if content.startswith(OLE_MAGIC):
        if _ENCRYPTION_INFO in content:
            return [problem("encrypted-file")]
        return []  # a legacy .xls (calamine reads it whatever its name); its reader runs under process limits
    if not content.startswith(ZIP_MAGIC):
        return [_not_a_workbook(content, suffix)]
    try:
        return _zip_problems(content, suffix)
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, ValueError, struct.error, IndexError) as exc:
        return [damaged(f"zip: {type(exc).__name__}: {exc}")]


def _csv_problems(content: bytes) -> list[Problem]:
    if content.startswith(ZIP_MAGIC) or content.startswith(OLE_MAGIC):
        return [problem("workbook-named-csv")]
    if _looks_utf16(content[:65536]):
        return [problem("csv-encoding", variant="utf16")]
    for encoding in CSV_ENCODINGS:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and _looks_misdecoded(text):
            return [problem("csv-encoding", variant="misread")]
        return []
    return [problem("csv-encoding", variant="unknown")]


def _looks_utf16(head: bytes) -> bool:
    """'Unicode Text' as Excel saves it: a UTF-16 byte-order mark, or a NUL beside nearly every ASCII character.
    A stray NUL in UTF-8 text is not that: the reader names its cell."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return len(head) >= 2 and min(head[0::2].count(0), head[1::2].count(0)) == 0 and \
        max(head[0::2].count(0), head[1::2].count(0)) > 0.3 * (len(head) // 2)


def _looks_misdecoded(text: str) -> bool:
    """Text in another encoding read as GB18030: mostly characters no clerk types (outside GB2312, or kana)."""
    chinese = [ch for ch in text if "\u3040" <= ch <= "\u9fff"]
    if len(chinese) < 10:
        return False
    odd = 0
    for ch in chinese:
        try:
            odd += "\u3040" <= ch <= "\u30ff" or not ch.encode("gb2312")
        except UnicodeEncodeError:
            odd += 1
    return odd > 0.2 * len(chinese)


def _not_a_workbook(content: bytes, suffix: str) -> Problem:
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<html", b"<!doctype html", b"<table", b"<meta")):
        kind_zh, kind_en = "网页（HTML），常见于从业务系统直接导出的“xls”", "a web page (HTML), as some systems export 'xls'"
    elif head.startswith(b"<?xml"):
        kind_zh, kind_en = "XML 文本（如“XML 电子表格 2003”）", "XML text (such as 'XML Spreadsheet 2003')"
    elif head.startswith(b"%pdf"):
        kind_zh, kind_en = "PDF 文件", "a PDF file"
    else:
        kind_zh, kind_en = "无法识别的数据", "data of no known kind"
    return problem("not-a-workbook", suffix=suffix, kind_zh=kind_zh, kind_en=kind_en)


def _zip_problems(content: bytes, suffix: str) -> list[Problem]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError, OSError) as exc:
        return [damaged(f"zip: {exc}")]
    if len(parts) > MAX_PARTS:
        return [problem("unsafe-file", variant="too-many-parts", parts=len(parts))]
    if any(p.flag_bits & 0x1 for p in parts):
        return [problem("encrypted-file")]
    strange = next((p.filename for p in parts if _outside_name(p.filename)), None)
    if strange:
        return [problem("unsafe-file", variant="outside-name", part=strange)]
    twice = _repeated_part(parts)
    if twice:  # readers differ on which copy they read: taking either would be a guess
        return [problem("unsafe-file", variant="repeated-part", part=twice)]
    declared = sum(p.file_size for p in parts)
    if declared > MAX_UNPACKED_BYTES:
        return [_too_big(declared)]
    ods = suffix == ".ods" or any(p.filename == "content.xml" for p in parts)
    tabs = {} if ods else _tab_names(archive)
    if ods:  # the manifest first: a file saved with a password is refused as that, not for its encrypted parts
        parts = sorted(parts, key=lambda p: p.filename != "META-INF/manifest.xml")
    unpacked, cells, errors = 0, 0, []
    for part in parts:
        if part.is_dir():
            continue
        scanner = _XlsxScanner(part.filename, tab=tabs.get(part.filename))
        if ods:
            scanner = {"content.xml": _OdsScanner, "META-INF/manifest.xml": _ManifestScanner}.get(
                part.filename, _XmlScanner)(part.filename)
        try:
            unpacked += _inflate(content, part, MAX_UNPACKED_BYTES - unpacked, scanner)
            for sheet, rows, columns in scanner.finish():
                cells += rows * columns
                too_large = sheet_size_problem(sheet, rows, columns) or workbook_size_problem(cells)
                if too_large:
                    return [too_large]
        except ProblemFound as refused:
            return [refused.problem]
        if isinstance(scanner, _XlsxScanner):
            errors += [(scanner.label, cell) for cell in scanner.errors]
        elif isinstance(scanner, _OdsScanner):
            errors += scanner.errors
    if not ods and not any(p.filename == "[Content_Types].xml" for p in parts):  # after the checks for harm
        return [damaged("zip: no [Content_Types].xml, which every workbook package has")]
    return formula_errors(errors)


def _outside_name(name: str) -> bool:
    """A part name no spreadsheet program writes, and one an unpacking tool would put outside its folder."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or bool(re.match(r"[A-Za-z]:", name))


def _repeated_part(parts: list[zipfile.ZipInfo]) -> str | None:
    """The first part name the package holds twice; names compare as the package format says (case aside)."""
    seen = set()
    for part in parts:
        name = part.filename.replace("\\", "/").lstrip("/").lower()
        if name in seen:
            return part.filename
        seen.add(name)
    return None


def formula_errors(cells: list[tuple[str, str]]) -> list[Problem]:
    """A refusal for each cell (sheet, cell) holding a formula's error value: the reader would see it as blank,
    and a figure that cannot be worked out is neither zero nor left out. The first MAX_ERROR_CELLS are named,
    the rest counted in the last."""
    found = [problem("formula-error", sheet=sheet, cell=cell, sheet_name=sheet, cell_name=cell)
             for sheet, cell in cells[:MAX_ERROR_CELLS]]
    if len(cells) > MAX_ERROR_CELLS:
        found.append(problem("formula-error", variant="more", more=len(cells) - MAX_ERROR_CELLS))
    return found


def _tab_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet part -> the tab name a clerk sees, from xl/workbook.xml and its relationships (when both are small)."""
    try:
        parts = {p.filename: p for p in archive.infolist()}
        book, rels = parts.get("xl/workbook.xml"), parts.get("xl/_rels/workbook.xml.rels")
        if not book or not rels or book.file_size + rels.file_size > _MAX_TAG:
            return {}
        targets = dict(re.findall(rb'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"',
                                  archive.read(rels)))
        sheets = re.findall(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]+)"', archive.read(book))
    except Exception:  # labels only: a part that cannot be read is refused by the scan that follows
        return {}
    return {"xl/" + targets[rid].decode("utf-8", "replace").lstrip("/").removeprefix("xl/"):
            html.unescape(name.decode("utf-8", "replace")) for name, rid in sheets if rid in targets}


def _too_big(size: int) -> Problem:
    return problem("file-too-large", variant="unpacked", mb=size / 2**20, limit=MAX_UNPACKED_BYTES // 2**20)


def _inflate(content: bytes, part: zipfile.ZipInfo, budget: int, scanner: "_XmlScanner") -> int:
    """Inflate one part from its own bytes, as a reader would, feeding the scanner; its true size.

    The sizes in the zip directory are what the file claims; this counts what its data really inflates to,
    so a part that claims 1 KB and inflates to 4 GB stops at the budget instead of at the reader's abort.
    """
    start = part.header_offset
    if content[start:start + 4] != b"PK\x03\x04":
        raise ProblemFound(damaged(f"zip: bad local header for {part.filename}"))
    flags, method, _, _, crc, compressed, size, name_len, extra_len = struct.unpack_from("<HHHHIIIHH", content,
                                                                                       start + 6)
    name = content[start + 30:start + 30 + name_len]
    same_name = name in (part.orig_filename.encode("utf-8", "replace"), part.orig_filename.encode("cp437", "replace"))
    sizes_given = not flags & 0x8  # else they follow the data, and the header holds zeros
    if (flags & 0x1, method) != (part.flag_bits & 0x1, part.compress_type) or not same_name or \
            sizes_given and (crc, compressed, size) != (part.CRC, part.compress_size, part.file_size):
        # readers differ on which of the two descriptions they follow
        raise ProblemFound(problem("unsafe-file", variant="two-descriptions", part=part.filename))
    data = memoryview(content)[start + 30 + name_len + extra_len:][:part.compress_size]
    if len(data) < part.compress_size:
        raise ProblemFound(damaged(f"zip: {part.filename} is cut short"))
    if part.compress_type == zipfile.ZIP_STORED:
        chunks = (bytes(data[i:i + _CHUNK]) for i in range(0, len(data), _CHUNK))
    elif part.compress_type == zipfile.ZIP_DEFLATED:
        chunks = _deflated(data, part.filename)
    else:
        # the part's name is the file's inner structure (xl/worksheets/…), nothing a clerk can act on: English only
        raise ProblemFound(problem("unsafe-file", variant="compression-method", part_en=part.filename,
                                   method_en=part.compress_type))
    size, crc, malformed_xml = 0, 0, None
    for chunk in chunks:
        size += len(chunk)
        if size > part.file_size:  # what the readers size their buffers by is a lie
            raise ProblemFound(problem("unsafe-file", variant="beyond-declared-size", part_en=part.filename,
                                       declared=part.file_size))
        if size > budget:
            raise ProblemFound(_too_big(MAX_UNPACKED_BYTES + 1))
        if size > RATIO_CHECKED_FROM and size > MAX_RATIO * max(part.compress_size, 1):
            raise ProblemFound(problem("unsafe-file", variant="zip-bomb", part_en=part.filename, ratio=MAX_RATIO))
        crc = zlib.crc32(chunk, crc)
        if not malformed_xml:
            try:
                scanner.feed(chunk)
            except ProblemFound as refused:  # damaged bytes read as bad XML too: the checksum says which it is
                if refused.problem.rule != "malformed-xml":
                    raise
                malformed_xml = refused
    if size != part.file_size or crc != part.CRC:
        raise ProblemFound(damaged(f"zip: {part.filename} does not match its size or checksum"))
    if malformed_xml:
        raise malformed_xml
    return size


def _deflated(data: memoryview, name: str):
    inflater = zlib.decompressobj(-15)
    for i in range(0, len(data), _CHUNK):
        pending = bytes(data[i:i + _CHUNK])
        while pending:
            try:
                out = inflater.decompress(pending, _CHUNK)
            except zlib.error as exc:
                raise ProblemFound(damaged(f"zip: {name}: {exc}")) from None
            pending = inflater.unconsumed_tail
            if out:
                yield out
            if inflater.eof:
                if inflater.unused_data or i + _CHUNK < len(data):  # the stream ends before the size declared
                    raise ProblemFound(problem("unsafe-file", variant="short-stream", part=name))
                return
    if not inflater.eof:
        raise ProblemFound(damaged(f"zip: {name} is cut short"))


@dataclass
class _XmlScanner:
    """Looks at every XML part: no DTD or entities, no implausible counts; subclasses look at cells too."""

    part: str = ""
    carry: bytes = b""
    started: bool = False
    xml: object = None  # expat, checking that the part is well-formed XML as it streams past
    fed: int = 0  # bytes given to it before the text being scanned
    root: str | None = None  # the root element, as 'namespace name'

    def feed(self, chunk: bytes) -> None:
        if not self.started and chunk:
            self.started = True
            if self.is_xml and chunk.startswith(_UTF16_STARTS):
                raise ProblemFound(problem("malformed-xml", variant="utf16", where_zh=self.where_zh,
                                           where_en=self.where_en))
        buffer = self.carry + chunk
        cut = buffer.rfind(b">") + 1  # whole tags only, so no tag is ever split between two chunks
        whole, self.carry = buffer[:cut], buffer[cut:]
        if len(self.carry) > _MAX_TAG:
            whole, self.carry = self.carry, b""
        if whole:
            self.scan(whole)

    @property
    def is_xml(self) -> bool:
        """Pictures, printer settings and macros are other parts of a package: not XML, and never read."""
        return self.part.lower().endswith((".xml", ".rels"))

    @property
    def where_zh(self) -> str:
        return f"部件 {self.part}"

    @property
    def where_en(self) -> str:
        return f"part {self.part}"

    def scan(self, text: bytes) -> None:
        self.check(text)
        fault = self.fault(text)
        if fault:
            self.refuse(fault)

    def fault(self, text: bytes) -> Fault | None:
        """The first thing in `text` that is not well-formed XML."""
        if not self.is_xml:
            return None
        found = [(m.start(), "named-entity", {"entity": m.group().decode("ascii", "replace")})
                 for m in (_UNDEFINED_ENTITY.search(text),) if m]
        found += [(m.start(), "control-character", {})
                  for m in (_CONTROL_BYTE.search(text), _CONTROL_REFERENCE.search(text)) if m]
        if not found:
            found = [f for f in (self._parsed(text),) if f]
        return min(found, key=lambda f: f[0]) if found else None

    def _parsed(self, text: bytes, last: bool = False) -> Fault | None:
        """What expat finds wrong in `text`, the next bytes of the part (the last: whether the part has ended)."""
        if self.xml is None:
            self.xml = expat.ParserCreate(namespace_separator=" ")
            self.xml.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
            self.xml.StartElementHandler = self._root
        before, self.fed = self.fed, self.fed + len(text)
        try:
            self.xml.Parse(text, last)
        except expat.ExpatError as exc:
            said = expat.ErrorString(exc.code)
            return (max(0, min(self.xml.ErrorByteIndex - before, len(text))), _EXPAT_FAULTS.get(said, "other"),
                    {"detail_en": said})
        spreadsheet = self.part in _MAIN_PARTS or self.part.startswith("xl/worksheets/")
        if spreadsheet and self.root is not None and self.root.split(" ")[0] not in _MAIN_NAMESPACES:
            return 0, "foreign-root", {"root_en": self.root.split(" ")[-1]}
        return None

    def _root(self, name: str, attributes) -> None:
        self.root = name
        self.xml.StartElementHandler = None  # one call for the root; the rest stream past in C

    def refuse(self, fault: Fault) -> None:
        """A part that is not well-formed XML: readers disagree on what such a part holds (one reads a number,
        another stops, another drops a cell), so nothing in it is taken as a figure."""
        _, variant, context = fault
        raise ProblemFound(problem("malformed-xml", variant=variant, where_zh=self.where_zh + self.near_zh,
                                   where_en=self.where_en + self.near_en, **context))

    def check(self, text: bytes) -> None:
        """No DTD, no entity declaration, no count a reader would size its tables by beyond the bounds."""
        if _DTD.search(text):
            raise ProblemFound(problem("unsafe-file", variant="entity-declaration"))
        for match in _COUNT.finditer(text):
            if int(match.group(1)) > MAX_COUNT:
                raise ProblemFound(problem("unsafe-file", variant="huge-count", count=int(match.group(1))))

    @property
    def near_zh(self) -> str:
        return ""

    @property
    def near_en(self) -> str:
        return ""

    def finish(self) -> list[tuple[str, int, int]]:
        """The sheets this part holds, as (name, rows, columns) from A1 to the last used cell."""
        if self.carry:
            self.scan(self.carry)
            self.carry = b""
        if self.xml is not None:  # an element left open, or no element at all
            fault = self._parsed(b"", last=True)
            if fault:
                self.refuse(fault)
        return self.areas()

    def areas(self) -> list[tuple[str, int, int]]:
        return []


def column_number(letters: bytes) -> int:
    """1 for A, 16384 for XFD."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


@dataclass
class _XlsxScanner(_XmlScanner):
    """Finds a sheet part's last used cell (a self-closing <c/> is an empty, formatted cell) and its size."""

    tab: str | None = None
    errors: list = field(default_factory=list)  # cells holding a formula's error value, as 'B5'
    number_cell: bool = False  # the cell being read is a number cell (no t="…", or t="n")
    row: int = 0
    column: int = 0
    max_row: int = 0
    max_column: int = 0
    used: int = 0

    def scan(self, text: bytes) -> None:
        self.check(text)
        fault = self.fault(text)
        for match in _XLSX_TAG.finditer(text):
            if fault and match.start() > fault[0]:
                break  # the cell the fault is in has been begun: the report names it
            tag, attrs = match.group(1), match.group(2)
            if tag is None:  # a cell's value
                if self.number_cell and fault is None and not _NUMBER.fullmatch(match.group(3)):
                    fault = (match.start(), "not-a-number", {"value": match.group(3).decode("utf-8", "replace")})
                    break
                continue
            if tag == b"c":
                kind = _TYPE.search(attrs)  # t="e": a formula's error value (#DIV/0!, #REF! …)
                kind = kind.group(1) if kind else None
                self.number_cell = self.part.startswith("xl/worksheets/") and kind in (None, b"n")
                refs = _REF.findall(attrs)
                for letters, digits in refs[:-1]:  # a repeated attribute: the reader takes the last one
                    _check_position(int(digits or 1), column_number(letters or b"A"))
                letters, digits = refs[-1] if refs else (b"", b"")
                self.column = column_number(letters) if letters else self.column + 1
                self.row = int(digits) if digits else self.row
                _check_position(self.row, self.column)
                if not attrs.endswith(b"/"):  # a cell with content
                    if kind == b"e":
                        self.errors.append(cell_ref(self.row - 1, self.column - 1))
                    self.used += 1
                    self.max_row, self.max_column = max(self.max_row, self.row), max(self.max_column, self.column)
                    if self.max_row > MAX_SHEET_ROWS or self.max_row * self.max_column > MAX_SHEET_CELLS:
                        raise ProblemFound(_size_problem(self.label, self.max_row, self.max_column))
            elif tag == b"row":
                refs = _REF.findall(attrs)
                self.row = max((int(d) for _, d in refs if d), default=self.row + 1)
                self.column = 0
            else:  # <mergeCell ref="A1:B2">: the parser walks merged ranges cell by cell
                for first_letters, first_digits, last_letters, last_digits in _RANGE.findall(attrs):
                    for letters, digits in ((first_letters, first_digits), (last_letters, last_digits)):
                        if letters or digits:
                            _check_position(int(digits or 1), column_number(letters or b"A"))
        if fault:
            self.refuse(fault)

    @property
    def label(self) -> str:
        """The tab name, or 'sheet3' for xl/worksheets/sheet3.xml when the workbook does not say."""
        return self.tab or Path(self.part).stem

    @property
    def where_zh(self) -> str:
        return f"工作表“{self.label}”" if self.tab or self.part.startswith("xl/worksheets/") else super().where_zh

    @property
    def where_en(self) -> str:
        return f"sheet '{self.label}'" if self.tab or self.part.startswith("xl/worksheets/") else super().where_en

    @property
    def near_zh(self) -> str:  # the last cell begun before the fault: where the clerk should look
        return f"（{cell_ref(self.row - 1, self.column - 1)} 单元格附近）" if self.row and self.column else ""

    @property
    def near_en(self) -> str:
        return f" (near cell {cell_ref(self.row - 1, self.column - 1)})" if self.row and self.column else ""

    def areas(self) -> list[tuple[str, int, int]]:
        return [(self.label, self.max_row, self.max_column)] if self.used else []


def _check_position(row: int, column: int) -> None:
    if row > MAX_ROW or column > MAX_COLUMN:
        raise ProblemFound(problem("unsafe-file", variant="beyond-last-cell", row=row, column=column))


def _size_problem(sheet: str, rows: int, columns: int) -> Problem:
    # within one sheet's bounds, but not together with the others: the workbook's
    return sheet_size_problem(sheet, rows, columns) or workbook_size_problem(rows * columns)


@dataclass
class _OdsScanner(_XmlScanner):
    """The same for OpenDocument, where rows and cells repeat (number-rows-repeated): count what they expand to."""

    tables: list[tuple[str, int, int]] = field(default_factory=list)
    errors: list = field(default_factory=list)  # (table, cell) of cells holding a formula's error value
    row: int = 0
    repeat: int = 1
    column: int = 0
    row_used: int = 0
    row_last: int = 0
    max_row: int = 0
    max_column: int = 0

    def scan(self, text: bytes) -> None:
        super().scan(text)
        for match in _ODS_TAG.finditer(text):
            tag, attrs = match.group(1), match.group(2) or b""
            repeat = _REPEAT.search(attrs)
            n = int(repeat.group(1)) if repeat else 1
            if tag == b"table":
                self._end_table()
                name = re.search(rb"name\s*=\s*[\"']([^\"']*)", attrs)
                self.tables.append((name.group(1).decode("utf-8", "replace") if name else "?", 0, 0))
            elif tag == b"table-row":
                self.repeat, self.column, self.row_used, self.row_last = n, 0, 0, 0
                if attrs.endswith(b"/"):
                    self._end_row()
            elif tag is None:  # </table-row>
                self._end_row()
            else:  # a cell, repeated n times across; self-closing without a value type is empty
                if _ODS_ERROR.search(attrs):  # the reader sees it as an empty cell
                    self.errors.append((self.tables[-1][0] if self.tables else "?", cell_ref(self.row, self.column)))
                self.column += n
                if not attrs.endswith(b"/") or b"value-type" in attrs:
                    self.row_used += n
                    self.row_last = self.column
                    _check_position(self.row + 1, self.column)

    def _end_row(self) -> None:
        if self.row_used:
            self.max_row = self.row + self.repeat
            self.max_column = max(self.max_column, self.row_last)
            _check_position(self.max_row, self.max_column)
            if self.max_row > MAX_SHEET_ROWS or self.max_row * self.max_column > MAX_SHEET_CELLS:
                table = self.tables[-1][0] if self.tables else "?"
                raise ProblemFound(_size_problem(table, self.max_row, self.max_column))
        self.row += self.repeat
        self.repeat, self.row_used, self.row_last, self.column = 1, 0, 0, 0

    def _end_table(self) -> None:
        if self.tables:
            self.tables[-1] = (self.tables[-1][0], self.max_row, self.max_column)
        self.row = self.max_row = self.max_column = 0

    def areas(self) -> list[tuple[str, int, int]]:
        self._end_table()
        return self.tables


@dataclass
class _ManifestScanner(_XmlScanner):
    """An OpenDocument file saved with a password lists its encrypted parts in META-INF/manifest.xml."""

    encrypted: bool = False

    def scan(self, text: bytes) -> None:
        super().scan(text)
        self.encrypted = self.encrypted or b"encryption-data" in text

    def areas(self) -> list[tuple[str, int, int]]:
        if self.encrypted:
            raise ProblemFound(problem("encrypted-file"))
        return []
