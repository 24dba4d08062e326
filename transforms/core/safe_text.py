"""Text that leaves warmline safely: spreadsheet cells that cannot run as formulas, file names that stay put."""

from __future__ import annotations

import os
import re
import unicodedata

# A spreadsheet runs a text cell that starts with one of these as a formula (CSV injection, OWASP's list);
# a leading apostrophe makes Excel, WPS and LibreOffice show the text as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters that reorder how a name is displayed ('report\u202excod.txt' shows as 'reporttxt.docx').
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}
# C0 and C1 control characters but tab, line feed and carriage return, and the direction controls: no clerk types
# them, they act on a terminal or reorder a page, and one inside a header or a town's name makes two different
# texts look alike.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + "".join(sorted(_BIDI_CONTROLS)) + "]")
_SHOWN_AS_ESCAPES = re.compile(f"\r|{CONTROL_CHARACTER.pattern}")  # printable(): a carriage return too
_ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")  # resident identity card, 18 characters
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")  # mainland mobile number, 11 digits
REPORT_NAME_BYTES = 200  # of a file name, leaving room for '.<submission id>.txt' under ext4's 255 bytes


def defuse(text: str) -> str:
    """Text for a CSV or spreadsheet cell: a leading ' when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(text: str) -> str:
    """Text for a CSV cell written from what came from outside: control characters as escapes (printable), then
    defused against formulas."""
    return defuse(printable(text))


def readable_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (a GBK name from a USB stick) decoded as GB18030."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:  # os.listdir kept the undecodable bytes as surrogate escapes
        raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="backslashreplace")


def safe_file_name(name: str, max_bytes: int = REPORT_NAME_BYTES) -> str:
    """A name to create in one folder: no path separators, no leading dots, no control characters, capped."""
    kept = []
    for ch in readable_name(name):
        if ch in "/\\" or ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
            kept.append("_")
        else:
            kept.append(ch)
    text = "".join(kept).strip().lstrip(".").strip() or "file"
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")  # whole characters only


def printable(text: str) -> str:
    """Text for a terminal or a page: control characters (ESC, BEL, NUL …; newlines and tabs kept) and direction
    overrides shown as escapes (\\x1b, \\u202e), so that a file name or cell can neither drive the terminal nor
    reorder what is printed after it."""
    if text.isascii() and text.isprintable():
        return text
    return _SHOWN_AS_ESCAPES.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def shortened(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars` in the middle (a file name keeps its start and its extension), marked with …."""
    if len(text) <= max_chars:
        return text
    tail = max(4, max_chars // 3)
    return text[:max_chars - tail - 1] + "…" + text[-tail:]


def redact_personal(text: str) -> str:
    """Identity-card and mobile numbers masked (440204********1234, 138****5678): for what is published."""
    return _MOBILE.sub(r"\1****\2", _ID_NUMBER.sub(r"\1********\2", text))
