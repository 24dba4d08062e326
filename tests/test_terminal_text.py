"""What a sender puts in a file's name or cells reaches the terminal as text: no markup, no control sequences,
no name long enough to squeeze the rest of a table out."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ingest_inbox
from transforms.core.safe_text import printable, shortened
from transforms.read.template import FilledRow, write_submission
from transforms.read.worked_example import DEMO_DATE

WARMLINE = str(Path(sys.executable).with_name("warmline"))
LONG = "仁化县" + "a" * 230 + ".xlsx"  # 244 bytes, near ext4's 255
NAMES = {  # name as sent -> as printed
    "[a-z].xlsx": "[a-z].xlsx",
    "[bold red]翁源县.xlsx": "[bold red]翁源县.xlsx",
    "\x1b[2J\x1b[31m始兴县.xlsx": "\\x1b[2J\\x1b[31m始兴县.xlsx",
    "浈江区\u202exslx.xlsx": "浈江区\\u202exslx.xlsx",
    LONG: LONG[:31] + "…" + LONG[-16:],
}
UNITS = ("武江区", "翁源县", "始兴县", "浈江区", "仁化县")


def test_printable_shows_control_characters_and_direction_overrides_as_escapes():
    assert printable("a\x1b[31mb\x07c\u202ed\u2066e") == "a\\x1b[31mb\\x07c\\u202ed\\u2066e"
    assert printable("仁化县　第1行\n\t合计") == "仁化县　第1行\n\t合计"  # CJK, ideographic space, newline, tab kept
    assert shortened("short.xlsx", 48) == "short.xlsx"
    assert shortened(LONG, 48) == NAMES[LONG] and len(NAMES[LONG]) == 48


def test_status_prints_hostile_file_names_as_text(home, ingestor, ref):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    for n, (name, unit) in enumerate(zip(NAMES, UNITS)):
        path = write_submission(home.inbox / name, ref, unit, DEMO_DATE, [FilledRow("全县", {"走访慰问户数（户）": 100 + n})])
        landed = dt.datetime(2023, 12, 20, 9, n, tzinfo=shanghai).timestamp()
        os.utime(path, (landed, landed))
    outcomes = ingest_inbox(ingestor, DEMO_DATE)
    assert [o.status for o in outcomes] == ["loaded"] * 5
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(WARMLINE_HOME=str(home.home), COLUMNS="200")
    result = subprocess.run([WARMLINE, "status", "--date", "2023-12-20"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode in (0, 3), result.stderr
    text = result.stdout
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    for sent, printed in NAMES.items():
        row = next((line for line in text.splitlines() if printed in line), None)
        assert row is not None, (printed, text)
        assert "loaded" in row and "09:0" in row  # the rest of the row still shows beside the name
    assert max(len(line) for line in text.splitlines()) <= 200
