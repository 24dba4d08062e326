#!/usr/bin/env python
"""Turn the wording corpus (figure phrases from public civil-affairs releases, each labelled with the indicator it
must map to) into headers and workbooks, and score how the header reader does on them.

    python tests/wording/make_wording_corpus.py OUT_DIR [--split dev|heldout]   # writes the workbooks
    python tests/wording/make_wording_corpus.py --score [--split dev|heldout]   # precision and recall (dev unless named)
    python tests/wording/make_wording_corpus.py --cv [FOLDS]                    # estimate on unseen wordings (dev)

phrases_dev.csv and phrases_heldout.csv hold one phrase a line: the document it comes from (SOURCES.md), the phrase
as printed, its words as a clerk would title a column, the measure written after the number, the indicator it must
map to (empty: it must stay unmapped) and, for items_issued, the item type (a type; 混合 for several kinds; empty for
goods named generically). The split is by document. The header reader's lexicon (data/reference/) is tuned on the
development half only; the held-out half measures it.

Each phrase becomes three headers: words with the measure in brackets (发放棉被（床）), words with the measure in a unit
column, and a row of a list sheet (指标 | 单位 | 数量) in one workbook per document, read by the whole sheet reader.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SPLITS = ("dev", "heldout")
MIXED = "混合"  # several kinds of goods: no single item type is right
COMBINED_TYPES = ("棉衣棉被", "米面油", "其他物资")  # types that stand for several kinds
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Phrase:
    doc_id: str
    phrase: str
    words: str
    measure: str
    indicator: str | None
    item_type: str | None
    note: str

    @property
    def header_words(self) -> str:
        """The words as a header: a 其中 (of which) line is read as the figure it names, since a breakdown is left
        out on purpose (the sheet reader checks that apart)."""
        return re.sub(r"^其中[:：]?", "", self.words)

    @property
    def header(self) -> str:
        return f"{self.header_words}（{self.measure}）" if self.measure else self.header_words

    @property
    def number(self) -> float:
        found = _NUMBER.findall(self.phrase.replace(",", ""))
        return float(found[0]) if found else 1.0


def load(split: str) -> list[Phrase]:
    with (HERE / f"phrases_{split}.csv").open(encoding="utf-8", newline="") as fh:
        return [Phrase(r["doc_id"], r["phrase"], r["words"].strip(), r["measure"].strip(),
                       r["indicator"].strip() or None, r["item_type"].strip() or None, r.get("note", ""))
                for r in csv.DictReader(fh)]


def verdict(phrase: Phrase, indicator: str | None, item_type: str | None) -> str:
    """tp (mapped right), fp (mapped, but wrong or should not be), fn (should map, did not), tn (rightly unmapped)."""
    if indicator is None:
        return "fn" if phrase.indicator else "tn"
    if indicator != phrase.indicator:
        return "fp"
    if phrase.indicator != "items_issued":
        return "tp"
    if phrase.item_type == MIXED:
        return "tp" if item_type is None or item_type in COMBINED_TYPES else "fp"
    return "tp" if item_type == phrase.item_type else "fp"


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def line(self, split: str) -> str:
        return (f"{split}: {self.tp + self.fp + self.fn + self.tn} phrases, {self.tp + self.fn} to map; "
                f"precision {self.precision:.1%} ({self.fp} wrong of {self.tp + self.fp} mapped), "
                f"recall {self.recall:.1%} ({self.fn} missed), {self.tn} rightly left unmapped")


def read_header(catalogue, phrase: Phrase, unit_column: bool = False):
    """What the header reader makes of a phrase as a header: (indicator, item_type), Nones when unmapped."""
    from transforms.read.headers import HeaderMatch

    found = catalogue.read(phrase.header_words, unit=phrase.measure) if unit_column else catalogue.read(phrase.header)
    return (found.indicator, found.item_type) if isinstance(found, HeaderMatch) else (None, None)


def score(catalogue, phrases: list[Phrase], unit_column: bool = False) -> tuple[Score, list[tuple]]:
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    errors = []
    for p in phrases:
        got = read_header(catalogue, p, unit_column)
        v = verdict(p, *got)
        counts[v] += 1
        if v in ("fp", "fn"):
            errors.append((v, p, got))
    return Score(**counts), errors


def fold_of(doc_id: str, folds: int) -> int:
    return int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest(), 16) % folds


def without_words_seen_only_in(ref, test: list[Phrase], train: list[Phrase]):
    """The reference data as if it had been tuned without `test`: every lexicon word (an alias, an action, object
    or context word, an item word, a header word) that occurs in a header of `test` and in none of `train` is
    dropped, since tuning on `train` alone could not have added it. The rules in code are kept: the estimate
    is of the lexicon's reach, not of the code's."""
    import dataclasses

    from transforms.read.headers import split_header

    def learnt_from_test(word: str) -> bool:
        name = split_header(word)[0]
        return bool(name) and any(name in p.header for p in test) and not any(name in p.header for p in train)

    def keep(words):
        return tuple(w for w in words if not learnt_from_test(w))

    return dataclasses.replace(
        ref,
        indicators=tuple(dataclasses.replace(i, aliases=keep(i.aliases), actions=keep(i.actions),
                                             objects=keep(i.objects), context=keep(i.context))
                         for i in ref.indicators),
        item_types=tuple(dataclasses.replace(t, aliases=keep(t.aliases)) for t in ref.item_types),
        header_words=tuple(h for h in ref.header_words if not learnt_from_test(h.word)))


def cross_validate(ref, folds: int) -> tuple[Score, list[tuple]]:
    """Precision and recall on the development half by document folds, each fold read with a lexicon stripped of
    the words only it contains (without_words_seen_only_in): an estimate of how the reader does on wordings
    it was not tuned on, without scoring the held-out half. With the errors of every fold."""
    from transforms.read.headers import HeaderCatalogue

    phrases = load("dev")
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    errors = []
    for k in range(folds):
        test = [p for p in phrases if fold_of(p.doc_id, folds) == k]
        train = [p for p in phrases if fold_of(p.doc_id, folds) != k]
        result, wrong = score(HeaderCatalogue(without_words_seen_only_in(ref, test, train)), test)
        for kind in counts:
            counts[kind] += getattr(result, kind)
        errors += wrong
    return Score(**counts), errors


def print_errors(errors: list[tuple]) -> None:
    for kind, p, got in errors:
        print(f"  {kind} {p.doc_id} {p.header} -> {got[0]} {got[1] or ''}  (want {p.indicator} "
              f"{p.item_type or ''}) {p.note}")


def write_workbooks(out: Path, phrases: list[Phrase]) -> dict[str, list[tuple[str, Phrase]]]:
    """One list workbook per document (指标 | 单位 | 数量, a phrase a row); returns file → [(name cell, phrase)]."""
    import xlsxwriter

    out.mkdir(parents=True, exist_ok=True)
    by_doc: dict[str, list[Phrase]] = {}
    for p in phrases:
        by_doc.setdefault(p.doc_id, []).append(p)
    written = {}
    for doc, rows in sorted(by_doc.items()):
        name = f"浈江区_{doc}_20231220.xlsx"
        book = xlsxwriter.Workbook(str(out / name))
        book.set_properties({"created": __import__("datetime").datetime(2023, 12, 20)})
        sheet = book.add_worksheet("统计表")
        sheet.write_row(0, 0, ["填报单位：浈江区民政局"])
        sheet.write_row(1, 0, ["统计截止日期：2023-12-20"])
        sheet.write_row(2, 0, ["序号", "指标", "单位", "数量"])
        placed = []
        for n, p in enumerate(rows):
            sheet.write_row(3 + n, 0, [n + 1, p.header_words, p.measure, p.number])
            placed.append((f"B{4 + n}", p))
        book.close()
        written[name] = placed
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--split", choices=SPLITS)
    parser.add_argument("--score", action="store_true", help="print precision and recall of the header reader")
    parser.add_argument("--errors", action="store_true",
                        help="with --score or --cv: list each wrong or missed phrase (development half only)")
    parser.add_argument("--cv", nargs="?", type=int, const=3, metavar="FOLDS",
                        help="estimate on unseen wordings by document folds of the development half (default 3)")
    args = parser.parse_args(argv)
    splits = [args.split] if args.split else list(SPLITS)
    if args.cv:
        sys.path.insert(0, str(REPO))
        from transforms.core.layout import SHIPPED_REFERENCE
        from transforms.core.reference import load_reference

        result, errors = cross_validate(load_reference(SHIPPED_REFERENCE), args.cv)
        print(result.line(f"dev, {args.cv} folds"))
        if args.errors:
            print_errors(errors)
        return 0
    if args.score and args.errors and args.split != "dev":
        parser.error("--errors lists the development half's errors only: the held-out half's are never read")
    if args.score and args.split is None:
        splits = ["dev"]  # scoring the held-out half spends it: only when asked by name (--split heldout)
    if args.score:
        sys.path.insert(0, str(REPO))
        from transforms.core.layout import SHIPPED_REFERENCE
        from transforms.core.reference import load_reference
        from transforms.read.headers import HeaderCatalogue

        catalogue = HeaderCatalogue(load_reference(SHIPPED_REFERENCE))
        for split in splits:
            result, errors = score(catalogue, load(split))
            print(result.line(split))
            if args.errors:
                print_errors(errors)
        return 0
    if args.out is None:
        parser.error("give OUT_DIR, or --score")
    for split in splits:
        written = write_workbooks(args.out / split, load(split))
        print(f"{split}: {len(written)} workbooks in {args.out / split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
