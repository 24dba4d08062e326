"""The bulletin's text in the register of a press release: city-wide headline, a paragraph per unit, notes.

The wording of each indicator is data (data/reference/bulletin_phrases.csv); the text is built once as
blocks of runs, which the Markdown below and the Word writer (bulletin_docx.py) render alike, and every
figure printed is recorded with the unit figures behind it (for figures.csv).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from transforms.bulletin.data import BulletinData, SourceFigure, UnitReport
from transforms.bulletin.official_numbers import official_number
from transforms.core.figures import EXACT, UNSPECIFIED, combine_qualifiers
from transforms.core.layout import SHIPPED_REFERENCE
from transforms.core.reference import HeadlineNumbers, load_headline_numbers, read_csv_rows
from transforms.day.gate import DRAFT_MARK

PHRASES_FILE = "bulletin_phrases.csv"
ITEM_TYPES_FILE = "item_types.csv"
CITY = "city"
READING_NOTE = ("“余”表示实际数不少于所列数，“约”表示估计数；全市合计按各单位截至当日的最新报送数据汇总，"
                "数字只舍不入。")


@dataclass(frozen=True)
class Phrase:
    """How the bulletin words one indicator: '走访慰问困难群众{n}' with n = '17882户'."""

    indicator: str
    unit_word: str
    phrase: str
    by_type_phrase: str = ""


@dataclass(frozen=True)
class Wording:
    """Indicator phrases in the order a paragraph lists them, the unit word of each item type, and how the headline
    writes its figures (campaign.toml's [bulletin.headline_numbers])."""

    phrases: tuple[Phrase, ...]
    item_units: dict[str, str]
    headline_numbers: HeadlineNumbers = HeadlineNumbers()

    def ordered(self, indicators: dict[str, dict]) -> list[Phrase]:
        """Every indicator's phrase, those without a line in the phrase file last, worded from the catalogue."""
        known = {p.indicator for p in self.phrases}
        return [*self.phrases, *(Phrase(code, i["unit"], f"{i['name_zh']}{{n}}")
                                 for code, i in indicators.items() if code not in known)]


@dataclass(frozen=True)
class Run:
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Block:
    """A paragraph: kind is title, dateline, body, unit, notes_head or note."""

    kind: str
    runs: tuple[Run, ...]

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


@dataclass(frozen=True)
class Published:
    """A figure as printed in the bulletin, with the query and unit figures behind it."""

    figure_id: str
    text: str
    indicator: str
    item_type: str | None
    unit_code: str | None
    unit_name: str
    value: float | None
    qualifier: str | None
    query: str
    sources: tuple[SourceFigure, ...]
    unread_cells: int = 0  # cells not loaded that may belong to this figure: it may be short of them


@dataclass(frozen=True)
class Bulletin:
    day: dt.date
    blocks: tuple[Block, ...]
    published: tuple[Published, ...]
    draft: bool = False  # held back by the publishing gate: marked 草稿（未发布） in its title and on every page


def load_wording(folder: Path) -> Wording:
    """bulletin_phrases.csv, item_types.csv and campaign.toml's headline rule from `folder`, or as shipped where the
    home predates them."""
    phrases_path = _reference_file(folder, PHRASES_FILE)
    phrases = []
    for line, row in enumerate(read_csv_rows(phrases_path), start=2):
        phrase = Phrase(row["indicator"].strip(), row["unit_word"].strip(), row["phrase"].strip(),
                        (row.get("by_type_phrase") or "").strip())
        if "{n}" not in phrase.phrase or (phrase.by_type_phrase and "{n}" not in phrase.by_type_phrase):
            raise ValueError(f"{phrases_path} line {line}: a phrase must say where the figure goes with {{n}}, "
                             f"e.g. 走访慰问困难群众{{n}}")
        phrases.append(phrase)
    item_units = {r["item_type"].strip(): r["unit"].strip() for r in read_csv_rows(_reference_file(folder, ITEM_TYPES_FILE))}
    return Wording(tuple(phrases), item_units, load_headline_numbers(folder))


def _reference_file(folder: Path, name: str) -> Path:
    """The home's copy of a reference file; the shipped one for a home set up before the file existed."""
    return folder / name if (folder / name).exists() else SHIPPED_REFERENCE / name


def month_day(day: dt.date, year_of: dt.date | None = None) -> str:
    """'12月20日'; with the year when it differs from `year_of`'s."""
    prefix = f"{day.year}年" if year_of is not None and day.year != year_of.year else ""
    return f"{prefix}{day.month}月{day.day}日"


class _Composer:
    """Builds the blocks and, with each figure written, its Published record."""

    def __init__(self, data: BulletinData, wording: Wording):
        self.data, self.wording = data, wording
        self.phrases = wording.ordered(data.indicators)
        self.published: list[Published] = []

    def figure(self, figure_id: str, value, qualifier, unit_word: str, *, indicator: str, query: str,
               item_type: str | None = None, unit: UnitReport | None = None, headline: bool = False,
               sources: tuple[SourceFigure, ...] = ()) -> str:
        text = official_number(value, qualifier, unit_word, headline=headline, rule=self.wording.headline_numbers)
        # today's figures may be short of cells not read; a correction's figures are of an earlier day
        unread = self.data.short_of(unit.code if unit else None, indicator) \
            if query in ("bulletin_headline", "bulletin_unit_figures") else 0
        self.published.append(Published(figure_id, text, indicator, item_type, unit.code if unit else None,
                                        unit.name if unit else f"全市（{self.data.city}）", value, qualifier,
                                        query, sources, unread))
        return text

    def headline(self) -> Block:
        d = self.data
        by_code = {p.indicator: p for p in self.phrases}
        clauses = []
        for fig in d.headline:
            if fig.qualifier is None:
                continue
            phrase = by_code.get(fig.indicator) or Phrase(fig.indicator, fig.unit, f"{fig.name_zh}{{n}}")
            text = self.figure(f"{CITY}.{fig.indicator}", fig.value, fig.qualifier, phrase.unit_word,
                               indicator=fig.indicator, query="bulletin_headline", headline=True, sources=fig.sources)
            clauses.append(phrase.phrase.format(n=text))
        opening = f"{d.campaign}自{month_day(d.start_date, d.day)}开展以来，截至{month_day(d.day)}，"
        body = f"全市累计{'，'.join(clauses)}。" if clauses else "各单位尚未报送统计数据。"
        return Block("body", (Run(opening + body),))

    def unit(self, unit: UnitReport) -> Block:
        clauses = []
        for phrase in self.phrases:
            figures = [f for f in unit.figures if f.indicator == phrase.indicator]
            typed = [f for f in figures if f.item_type is not None]
            total = next((f for f in figures if f.item_type is None), None)
            # Types alone when they make up the total (棉衣183件、棉被90床); the total first when it holds more.
            if typed and phrase.by_type_phrase and (total is None or _adds_up(total, typed)):
                clauses.append(phrase.by_type_phrase.format(n=self.by_type(unit, phrase, typed)))
            elif total is not None:
                text = self.figure(f"{unit.code}.{phrase.indicator}", total.value, total.qualifier, phrase.unit_word,
                                   indicator=phrase.indicator, query="bulletin_unit_figures", unit=unit,
                                   sources=(total,))
                clauses.append(phrase.phrase.format(n=text))
                if typed and phrase.by_type_phrase:
                    clauses[-1] += f"，其中{self.by_type(unit, phrase, typed)}"
        runs = [Run(unit.name, bold=True)]
        if unit.status == "carried_forward":
            runs.append(Run(f"（数据截至{month_day(unit.report_date, self.data.day)}）"))
        runs.append(Run(f"：累计{'，'.join(clauses)}。" if clauses else "：已报送，报表中无统计数字。"))
        return Block("unit", tuple(runs))

    def by_type(self, unit: UnitReport, phrase: Phrase, typed: list[SourceFigure]) -> str:
        """'棉衣183件、棉被90床及食品若干份': numbered types first, 若干 ones after 及."""
        order = list(self.wording.item_units)
        typed = sorted(typed, key=lambda f: (order.index(f.item_type) if f.item_type in order else len(order),
                                             f.item_type))
        parts = {True: [], False: []}
        for f in typed:
            text = self.figure(f"{unit.code}.{phrase.indicator}.{f.item_type}", f.value, f.qualifier,
                               self.wording.item_units.get(f.item_type, phrase.unit_word), indicator=phrase.indicator,
                               item_type=f.item_type, query="bulletin_unit_figures", unit=unit, sources=(f,))
            parts[f.qualifier != UNSPECIFIED].append(f"{f.item_type}{text}")
        listed = "、".join(parts[True])
        if parts[False]:
            listed = f"{listed}及{'、'.join(parts[False])}" if listed else "、".join(parts[False])
        return listed

    def notes(self) -> list[Block]:
        d = self.data
        notes = [self.coverage_note()]
        # a unit whose file of the day was returned for correction did report: it is said so, not "未报送"
        for returned in (False, True):
            carried = [u for u in d.units_with("carried_forward") if bool(u.rejected_files) == returned]
            if not carried:
                continue
            dates = sorted({u.report_date for u in carried})
            stated = "，".join(f"{'、'.join(u.name for u in carried if u.report_date == date)}数据截至"
                              f"{month_day(date, d.day)}" for date in dates)
            why = "当日报送数据退回修改" if returned else "当日未报送"
            notes.append(f"{stated}（{why}，沿用最近一次报送的数据，已计入全市合计）。")
        unspecified = self.unspecified_parts()
        if unspecified:
            notes.append("；".join(unspecified) + "。")
        notes.extend(self.unread_notes())
        notes.extend(self.correction_notes())
        notes.append(READING_NOTE)
        return [Block("notes_head", (Run("注："),)),
                *(Block("note", (Run(f"{i}. {text}"),)) for i, text in enumerate(notes, start=1))]

    def correction_notes(self) -> list[str]:
        """A city figure printed for an earlier day whose printed text a correction has changed, quoting both texts as
        printed: 1100余户 stays owed no correction when the figure moves from 1130 to 1150, since it covers both."""
        said = []
        by_code = {p.indicator: p for p in self.phrases}
        for c in self.data.corrections:
            day, indicator = c["as_of_date"], c["indicator"]
            phrase = by_code.get(indicator)
            unit_word = phrase.unit_word if phrase else c["unit"]
            was = c.get("published_text")
            if was is None and indicator in {f.indicator for f in self.data.headline} and c["published_qualifier"]:
                # published before printed texts were kept: the text the bulletin printed then, by the same rule
                was = official_number(c["published_value"], c["published_qualifier"], unit_word, headline=True,
                                      rule=self.wording.headline_numbers)
            if was is None:
                continue  # a city figure that was never printed needs no correction
            if not c["current_qualifier"]:
                now = "无数据"
            else:
                now = self.figure(f"correction.{day}.{indicator}.corrected", c["current_value"], c["current_qualifier"],
                                  unit_word, indicator=indicator, query="corrections_before_day", headline=True)
                if now == was:
                    self.published.pop()  # the printed text still holds: nothing to correct, nothing printed
                    continue
            said.append(f"更正：{month_day(day, self.data.day)}发布的全市{c['name_zh']}为{was}，"
                        f"经报送单位更正后为{now}。")
        return said

    def unread_notes(self) -> list[str]:
        """Where a counted file holds figures that could not be read: which unit, which headers, and which of its
        figures and of the city's headline may be short because of them."""
        said = []
        by_unit: dict[str, list] = {}
        for u in self.data.unread:
            if u.shortens:
                by_unit.setdefault(u.unit_code, []).append(u)
        for found in by_unit.values():
            headers = list(dict.fromkeys(u.header for u in found if u.header))
            cells = sum(u.cells for u in found)
            named = "".join(f"“{h}”" for h in headers[:3]) + ("等" if len(headers) > 3 else "")
            where = f"中{named}" if named else "中无表头"
            text = f"{found[0].unit_name}报表{where}的{cells}个数字未能识别，未计入合计"
            codes = list(dict.fromkeys(c for u in found for c in u.candidates))
            if codes:
                names = "、".join(self.data.indicators.get(c, {}).get("name_zh", c) for c in codes)
                headline = [f.name_zh for f in self.data.headline if f.indicator in codes]
                text += f"，{found[0].unit_name}的{names}" + (f"及全市{'、'.join(headline)}" if headline else "") + "可能偏少"
            else:
                text += f"，{found[0].unit_name}的数据可能不完整"
            said.append(text + "。")
        return said

    def coverage_note(self) -> str:
        d = self.data
        text = (f"本期应报送单位{self.unit_count('units_expected', d.units_expected)}，"
                f"报送当日数据{self.unit_count('units_reporting', d.units_reporting)}")
        if d.units_carried:
            text += f"，沿用此前数据{self.unit_count('units_carried', d.units_carried)}"
        missing = [u for u in d.units_with("missing") if not u.rejected_files]
        returned = [u for u in d.units_with("missing") if u.rejected_files]
        if missing:
            text += f"；{'、'.join(u.name for u in missing)}未报送数据，未计入全市合计"
        if returned:
            text += f"；{'、'.join(u.name for u in returned)}报送数据退回修改，未计入全市合计"
        return text + "。"

    def unit_count(self, name: str, n: int) -> str:
        return self.figure(f"{CITY}.{name}", n, EXACT, "个", indicator=name, query="bulletin_headline")

    def unspecified_parts(self) -> list[str]:
        """Where a unit wrote 若干: named in words, since no number of it can be summed."""
        said = []
        for unit in self.data.units:
            for f in unit.figures:
                name = self.data.indicators.get(f.indicator, {}).get("name_zh", f.indicator)
                typed = any(g.indicator == f.indicator and g.item_type for g in unit.figures)
                if f.item_type is not None and f.qualifier == UNSPECIFIED:
                    said.append(f"{unit.name}的{f.item_type}报为“若干”，未计入全市{name}")
                elif f.item_type is None and not typed and f.qualifier == UNSPECIFIED:
                    said.append(f"{unit.name}的{name}报为“若干”，未计入全市{name}")
                elif f.item_type is None and not typed and f.parts_unspecified:
                    said.append(f"{unit.name}的{name}中有部分报为“若干”，未计入全市{name}")
        return said


def _adds_up(total: SourceFigure, typed: list[SourceFigure]) -> bool:
    """Whether the types make up the whole total (same sum, same qualifier), so listing them says it all."""
    parts = sum(f.value for f in typed if f.value is not None)
    return total.value is None or (abs(total.value - parts) < 0.005 and total.qualifier ==
                                   combine_qualifiers(f.qualifier for f in typed))


def compose(data: BulletinData, wording: Wording, draft: bool = False) -> Bulletin:
    """The bulletin of `data.day`: title, date line, headline paragraph, one paragraph per reporting unit, notes.
    A draft's title begins with 草稿（未发布）."""
    c = _Composer(data, wording)
    blocks = [Block("title", (Run(f"{DRAFT_MARK if draft else ''}{data.campaign}进展情况"),)),
              Block("dateline", (Run(f"（截至{data.day.year}年{month_day(data.day)}）"),)),
              c.headline(),
              *(c.unit(u) for u in data.units if u.status != "missing"),
              *c.notes()]
    return Bulletin(data.day, tuple(blocks), tuple(c.published), draft)


_MARKDOWN_SPECIAL = str.maketrans({ch: f"\\{ch}" for ch in "\\`*_[]<>"})


def to_markdown(bulletin: Bulletin) -> str:
    """The bulletin as Markdown: '# title', paragraphs, bold unit names, notes as a numbered list."""
    lines: list[str] = []
    for block in bulletin.blocks:
        text = "".join(f"**{r.text.translate(_MARKDOWN_SPECIAL)}**" if r.bold else r.text.translate(_MARKDOWN_SPECIAL)
                       for r in block.runs)
        if block.kind == "title":
            lines += [f"# {text}", ""]
        elif block.kind == "note":
            lines.append(text)
        else:
            lines += [text, ""]
    return "\n".join(lines).rstrip("\n") + "\n"
