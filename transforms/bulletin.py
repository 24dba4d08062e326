"""The press bulletin of a day, from the warehouse alone: bulletin.md, bulletin.docx, chart.png, figures.csv."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import duckdb

from transforms.bulletin_chart import write_chart
from transforms.bulletin_data import BulletinError, read_bulletin_data
from transforms.bulletin_docx import write_docx
from transforms.bulletin_figures import figure_rows, write_figures_csv
from transforms.bulletin_text import Wording, compose, load_wording, to_markdown

__all__ = ["BulletinError", "bulletin_folder", "load_wording", "write_bulletin"]

FILES = ("bulletin.md", "bulletin.docx", "chart.png", "figures.csv")


def bulletin_folder(bulletins: Path, day: dt.date) -> Path:
    """data/bulletins/<YYYY-MM-DD>/ (contract, section 2)."""
    return bulletins / day.isoformat()


def write_bulletin(con: duckdb.DuckDBPyConnection, day: dt.date, folder: Path, wording: Wording) -> list[Path]:
    """(Re)write the bulletin of `day` into `folder`; every file is replaced whole or not at all."""
    data = read_bulletin_data(con, day)
    bulletin = compose(data, wording)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".writing-") as scratch:
        staged = {name: Path(scratch) / name for name in FILES}
        staged["bulletin.md"].write_text(to_markdown(bulletin), encoding="utf-8", newline="\n")
        write_docx(bulletin, staged["bulletin.docx"])
        write_chart(data, wording, staged["chart.png"])
        write_figures_csv(figure_rows(bulletin), staged["figures.csv"])
        for name, path in staged.items():
            os.replace(path, folder / name)
    return [folder / name for name in FILES]
