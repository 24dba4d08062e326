"""`warmline status` as one call: the day's status read from the warehouse alone, its page written, and where the
validation results' Data Docs are. No Prefect and no Great Expectations: what the status needs from validation was
stored when each file was ingested."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.reference import Reference
from transforms.day.status import DayStatus, day_status
from transforms.day.status_page import status_folder, write_status_page
from transforms.validate.data_docs import docs_index, pages_to_build, split_kept_batches, stored_validations


@dataclass(frozen=True)
class StatusReport:
    """The day's status, the page written for it (None when nothing is computed for the day), the Data Docs index
    when it exists, and how many kept validation results have no page yet (`warmline docs` builds them)."""

    status: DayStatus
    page: Path | None
    docs: Path | None
    unbuilt: int


def status_report(layout: Layout, ref: Reference, day: dt.date, now: dt.datetime) -> StatusReport:
    """Read the status of `day` and write data/bulletins/<day>/status.html; WarehouseOutdated when there is no
    warehouse yet or it lacks a view the status reads."""
    con = warehouse.open_read_only(layout.warehouse, run_first=f"warmline run --date {day}")
    try:
        split_kept_batches(layout.quality)  # batches' results split per file, so that each file links its own
        stored = stored_validations(layout.quality)
        unbuilt = set(pages_to_build(layout.quality, stored))
        # each file links the pages that exist; `warmline docs` builds the others
        status = day_status(con, ref, day, [v for v in stored if v not in unbuilt])
    except duckdb.CatalogException as exc:
        raise warehouse.WarehouseOutdated(
            f"the warehouse has no view or table the status needs ({exc}); refresh its views with `warmline init` "
            "(safe to run again), then run `warmline status` again") from None
    finally:
        con.close()
    index = docs_index(layout.quality)
    docs = index if index.exists() else None
    page = write_status_page(status, status_folder(layout.bulletins, day), docs, now, len(unbuilt)) \
        if status.units else None
    return StatusReport(status, page, docs, len(unbuilt))
