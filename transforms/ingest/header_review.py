"""The statistician's review of headers: every header seen across the files on record and how it was read, and
accepting a mapping for one that was not, as an alias in the reference data (`warmline headers`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from transforms.core.figures import normalise_text
from transforms.core.reference import Reference
from transforms.read.headers import ITEMS_ISSUED, HeaderCatalogue, HeaderMatch, split_header
from transforms.warehouse import rows

if TYPE_CHECKING:  # transforms.ingest.record imports pyarrow, which listing the headers does not need
    from transforms.ingest.record import Receipt

INDICATORS_FILE, ITEM_TYPES_FILE = "indicators.csv", "item_types.csv"


class ReviewError(ValueError):
    """An accepted mapping that cannot be written; the message says why and what to give instead."""


def headers_read(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every header mapped to an indicator, with how (alias, or inferred with the rule and words), files and cells."""
    return rows(con, "headers_read")


def headers_unread(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every header left unmapped, with why, what it could be, files, cells and an example cell."""
    return rows(con, "headers_unread")


def header_key(text: str) -> str:
    """A header as compared when accepting: spaces, line breaks and full-width forms do not matter."""
    return normalise_text(text.replace(" / ", ""))


@dataclass(frozen=True)
class Accepted:
    """A mapping written into the reference data: the alias, what it maps to, and the file it went into."""

    header: str
    alias: str
    indicator: str
    item_type: str | None
    file: Path


def alias_for(header: str, unit: str | None) -> str:
    """The alias a header becomes: its column's name, with the measure it was read with when there was one (an
    alias bound to its measure also maps a header whose measure the catalogue would call contradictory)."""
    name = split_header(header.split(" / ")[-1])[0]
    return f"{name}（{unit}）" if unit else name


def accept(folder: Path, ref: Reference, header: str, unit: str | None, indicator: str,
           item_type: str | None = None) -> Accepted:
    """Write the mapping of `header` to `indicator` (and `item_type`) as an alias into indicators.csv, or into
    item_types.csv for an item type; ReviewError when the indicator or type is unknown or the alias means
    something else already."""
    codes = {i.code for i in ref.indicators}
    if indicator not in codes:
        raise ReviewError(f"no indicator {indicator!r} in {INDICATORS_FILE}; use one of: {', '.join(sorted(codes))}")
    types = {t.name for t in ref.item_types}
    if item_type is not None and (indicator != ITEMS_ISSUED or item_type not in types):
        raise ReviewError(f"an item type belongs to items_issued and must be one of {', '.join(sorted(types))} "
                          f"(in {ITEM_TYPES_FILE})")
    alias = alias_for(header, unit)
    found = HeaderCatalogue(ref).read(alias)
    if isinstance(found, HeaderMatch) and found.how == "alias":
        if (found.indicator, found.item_type) == (indicator, item_type):
            raise ReviewError(f"“{alias}” is already an alias of {indicator}{f' ({item_type})' if item_type else ''}")
        raise ReviewError(f"“{alias}” is already an alias of {found.indicator}"
                          f"{f' ({found.item_type})' if found.item_type else ''}; edit the reference data by hand "
                          "if it should mean something else")
    if item_type is None:
        target = folder / INDICATORS_FILE
        _add_alias(target, "code", indicator, alias)
    else:
        target = folder / ITEM_TYPES_FILE
        _add_alias(target, "item_type", item_type, alias)
    return Accepted(header, alias, indicator, item_type, target)


def _add_alias(path: Path, key: str, value: str, alias: str) -> None:
    """Append `alias` to the aliases of the row whose `key` column is `value`, keeping every other byte's meaning
    (the file is rewritten whole, atomically)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    row = next(r for r in rows if r[key].strip() == value)
    row["aliases"] = "|".join(a for a in (row["aliases"].strip(), alias) if a)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    scratch = path.with_name(f".{path.name}.writing")
    scratch.write_text(text.getvalue(), encoding="utf-8")
    scratch.replace(path)


def affected(con: duckdb.DuckDBPyConnection, header: str) -> list[Receipt]:
    """The files on record (loaded or rejected) that hold `header` unmapped: those to read again once it maps."""
    from transforms.ingest.record import Receipt

    rows = con.execute(
        "SELECT DISTINCT s.submission_id, s.file_name, s.sha256, s.received_at, s.archive_path, r.header "
        "FROM raw.header_readings AS r JOIN raw.submissions AS s USING (submission_id) "
        "WHERE r.how = 'unmapped' AND s.status IN ('loaded', 'rejected') ORDER BY s.received_at").fetchall()
    key = header_key(header)
    return [Receipt(sid, name, sha, received.astimezone(dt.timezone.utc), archive)
            for sid, name, sha, received, archive, seen in rows if header_key(seen) == key]


def reading_unit(con: duckdb.DuckDBPyConnection, header: str) -> tuple[str | None, list[str], list[str]]:
    """The measure `header` was read with (the most common, when files differ), the indicators it could be, and
    the item types suggested with it (goods held back for a word the reader did not know)."""
    rows = con.execute("SELECT header, unit, candidates, item_type FROM raw.header_readings "
                       "WHERE how = 'unmapped'").fetchall()
    key = header_key(header)
    mine = [(u, cs, t) for h, u, cs, t in rows if header_key(h) == key]
    units = [u for u, _, _ in mine]
    candidates = list(dict.fromkeys(c for _, cs, _ in mine for c in (cs or "").split(",") if c))
    item_types = list(dict.fromkeys(t for _, _, t in mine if t))
    if not units and not candidates:
        raise ReviewError(f"no header “{header}” is unmapped in the files on record; `warmline headers` lists them")
    unit = max(set(units), key=lambda u: (units.count(u), u or "")) if units else None
    return unit, candidates, item_types


def accept_on_record(home_warehouse: Path, reference: Path, ref: Reference, header: str, indicator: str | None,
                     item_type: str | None = None) -> tuple[Accepted, list[Receipt]]:
    """`warmline headers accept`: the mapping written for a header left unmapped in the files on record, and those
    files, to be read again. Without `indicator`, the header's one candidate (and the item type suggested with
    it); ReviewError when there is none or several, or the mapping cannot be written."""
    from transforms.warehouse import open_read_only

    con = open_read_only(home_warehouse)
    try:
        unit, candidates, item_types = reading_unit(con, header)
        files = affected(con, header)
    finally:
        con.close()
    if indicator is None:
        if len(candidates) != 1:
            raise ReviewError(f"say which indicator “{header}” means with --as: it could be "
                              f"{', '.join(candidates) or 'any (no candidate)'}")
        indicator = candidates[0]
        if item_type is None and len(item_types) == 1:  # goods suggested with their kind (方便食品 → 食品)
            item_type = item_types[0]
    return accept(reference, ref, header, unit, indicator, item_type), files
