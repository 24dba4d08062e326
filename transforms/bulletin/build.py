"""The press bulletin of a day, from the warehouse alone: bulletin.md, bulletin.docx, chart.png, figures.csv.

A published bulletin is written to data/bulletins/<day>/; a day the publishing gate holds back gets a draft in
data/bulletins/<day>/draft/ instead, every file of it marked 草稿（未发布）, so that nobody can take it for the
release, and the release folder keeps what was last published.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import duckdb

from transforms.bulletin.chart import write_chart
from transforms.bulletin.data import BulletinData, BulletinError, read_bulletin_data
from transforms.bulletin.lineage import lineage_rows, write_figures_csv
from transforms.bulletin.text import Bulletin, Wording, compose, load_wording, to_markdown
from transforms.bulletin.word import write_docx

__all__ = ["BulletinError", "bulletin_folder", "compose_day", "draft_folder", "load_wording", "printed_headline",
           "write_bulletin", "write_files"]

FILES = ("bulletin.md", "bulletin.docx", "chart.png", "figures.csv")
DRAFT_FOLDER = "draft"


def bulletin_folder(bulletins: Path, day: dt.date) -> Path:
    """data/bulletins/<YYYY-MM-DD>/: what is published for the day."""
    return bulletins / day.isoformat()


def draft_folder(bulletins: Path, day: dt.date) -> Path:
    """data/bulletins/<YYYY-MM-DD>/draft/: the day's bulletin while the gate holds it back."""
    return bulletin_folder(bulletins, day) / DRAFT_FOLDER


def compose_day(con: duckdb.DuckDBPyConnection, day: dt.date, wording: Wording,
                draft: bool = False) -> tuple[BulletinData, Bulletin]:
    """The data of `day` and its bulletin as composed (a draft is marked in its title)."""
    data = read_bulletin_data(con, day)
    return data, compose(data, wording, draft=draft)


def write_files(data: BulletinData, bulletin: Bulletin, wording: Wording, folder: Path) -> list[Path]:
    """Write the bulletin's four files into `folder`; every file is replaced whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".writing-") as scratch:
        staged = {name: Path(scratch) / name for name in FILES}
        staged["bulletin.md"].write_text(to_markdown(bulletin), encoding="utf-8", newline="\n")
        write_chart(data, wording, staged["chart.png"], draft=bulletin.draft)  # before the document that embeds it
        write_docx(bulletin, staged["bulletin.docx"], staged["chart.png"])
        write_figures_csv(lineage_rows(bulletin), staged["figures.csv"])
        for name, path in staged.items():
            os.replace(path, folder / name)
    return [folder / name for name in FILES]


def write_bulletin(con: duckdb.DuckDBPyConnection, day: dt.date, folder: Path, wording: Wording,
                   draft: bool = False) -> list[Path]:
    """(Re)write the bulletin of `day` into `folder`."""
    data, bulletin = compose_day(con, day, wording, draft)
    return write_files(data, bulletin, wording, folder)


def remove_draft(bulletins: Path, day: dt.date) -> None:
    """Once the day is published its draft is gone: only the release remains to be picked up."""
    shutil.rmtree(draft_folder(bulletins, day), ignore_errors=True)


def printed_headline(bulletin: Bulletin) -> dict[str, str]:
    """The city-wide figures as the bulletin prints them, by indicator: {'households_visited': '2.4万余户'}."""
    return {p.indicator: p.text for p in bulletin.published
            if p.unit_code is None and p.query == "bulletin_headline" and p.figure_id == f"city.{p.indicator}"}
