"""Great Expectations Data Docs under data/quality/: each submission's validation results kept, the site built.

A batch's results are kept when it is validated, as one file (a millisecond or two for the batch); they are
split into each submission's own result, where Great Expectations looks for it, by split_kept_batches(), which needs no
Great Expectations (`warmline status` runs it, so that each file links its own pages). The site is built on
request, by `warmline docs`, only for the results that have no page yet (a page costs about 40 ms): building
imports Great Expectations, which `warmline status` never does.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import uuid
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from transforms.validate.offline_assets import make_offline

log = logging.getLogger("warmline.quality")

RESULTS = Path("gx", "uncommitted", "validations")
KEPT_BATCHES = Path("gx", "uncommitted", "warmline_batches")  # batches' results, not yet split per submission
SITE = Path("gx", "uncommitted", "data_docs", "local_site")
_RUN_TIME = "%Y%m%dT%H%M%S.%fZ"  # how Great Expectations names a run's folder


def docs_index(folder: Path) -> Path:
    """Where the Data Docs site's front page is (or will be) for the context in `folder`."""
    return folder / SITE / "index.html"


def run_name(unit_code: str | None, as_of_date: dt.date | None) -> str:
    """The name a submission's validation run is kept under: unit and as-of date, as the file gave them."""
    return f"{unit_code or 'no-unit'}_{as_of_date.isoformat() if as_of_date else 'no-date'}"


@dataclass(frozen=True)
class StoredValidation:
    """One stored validation result and the Data Docs page made (or to be made) from it."""

    suite: str
    run_name: str
    run_time: dt.datetime
    batch: str
    result: Path
    page: Path


def stored_validations(folder: Path) -> list[StoredValidation]:
    """Every validation result kept in `folder`, oldest first; read from the file names alone (no GX import)."""
    root = folder / RESULTS
    found = []
    for path in root.glob("*/*/*/*.json"):
        suite, name, when = path.relative_to(root).parts[:3]
        try:
            run_time = dt.datetime.strptime(when, _RUN_TIME).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue  # not one of ours
        page = folder / SITE / "validations" / suite / name / when / f"{path.stem}.html"
        found.append(StoredValidation(suite, name, run_time, path.stem, path, page))
    return sorted(found, key=lambda v: (v.run_time, v.suite))


def validations_of(stored: list[StoredValidation], unit_code: str | None, as_of_date: dt.date | None,
                   received_at: dt.datetime, processed_at: dt.datetime) -> list[StoredValidation]:
    """The results of one submission: its unit and date, validated between landing and being recorded (the
    latest such run, one result per suite)."""
    name = run_name(unit_code, as_of_date)
    runs = [v for v in stored if v.run_name == name and received_at <= v.run_time <= processed_at]
    if not runs:
        return []
    last = max(v.run_time for v in runs)
    return [v for v in runs if v.run_time == last]


def pages_to_build(folder: Path, stored: list[StoredValidation]) -> list[StoredValidation]:
    """Of the kept results `stored` (stored_validations() after split_kept_batches()), those a Data Docs build would
    make pages for: the ones without a page, or all of them when there is no site yet. Only then is GX needed."""
    if not docs_index(folder).exists():
        return list(stored)
    return [v for v in stored if not v.page.exists()]


class ResultStore:
    """A Great Expectations file-mode context in `folder` (it creates gx/ there) that keeps validation results
    and builds Data Docs from them. `suites` (name → suite spec) are copied in so the site can show them."""

    def __init__(self, folder: Path, suites: dict[str, dict] | None = None):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.context = gx.get_context(mode="file", project_root_dir=str(self.folder))
        bars = self.context.variables.progress_bars  # a dict once read back from great_expectations.yml
        if (bars.get("globally") if isinstance(bars, dict) else getattr(bars, "globally", None)) is not False:
            # the only switch that stops tqdm's bars on stderr; file mode also needs it saved
            self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
            self.context.variables.save()
        for name, spec in (suites or {}).items():
            self.context.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=spec["expectations"]))
        self._results = self.context.validation_results_store  # the property re-reads the project's config each time

    def keep(self, suite: str, result, name: str, when: dt.datetime | None = None):
        """Store one ExpectationSuiteValidationResult under run `name`; its key, or None when it could not be
        stored (Data Docs are a view of the validation, not its record: raw.issues is).

        This is Great Expectations' own way of storing a result; keep_split() writes the same files faster, and
        tests/test_quality_docs.py holds the two to the same output."""
        from great_expectations.core.run_identifier import RunIdentifier

        run_id = RunIdentifier(run_name=name, run_time=when or dt.datetime.now(dt.timezone.utc))
        key = self._key(suite, run_id, result.meta or {})
        result.meta["run_id"] = run_id
        try:
            self._results.set(key, result)
        except Exception as exc:  # a full disk or a permission must not stop a file from being ingested
            log.warning("validation result of %s (%s) not kept in %s: %s", name, suite, self.folder, exc)
            return None
        return key

    def keep_split(self, suite: str, result, stacked, files: list["FileRows"], index: str) -> Path | None:
        """Keep each file's own part of `result`, a run over `stacked`: the files' rows one under the other (row
        numbers in column `index`), as if each had been validated alone. The file it is kept in, or None.

        The whole result is serialised once and kept as one file; split_kept_batches() splits it per file when the Data
        Docs are next built. Great Expectations' own serialisation of each file's result, and writing each
        one into its own run folders, were most of what ingesting a file cost."""
        batch = {"suite": suite, "index": index, "result": self._as_json(result),
                 "files": [[f.name, f.when.isoformat(), f.start, f.rows] for f in files],
                 "missing": missing_counts(stacked, files)}
        first = min((f.when for f in files), default=dt.datetime.now(dt.timezone.utc))
        target = self.folder / KEPT_BATCHES / f"{first.strftime(_RUN_TIME)}-{suite}-{uuid.uuid4().hex[:8]}.json"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}")
            tmp.write_text(json.dumps(batch, separators=(",", ":")), encoding="utf-8")
            tmp.replace(target)
        except Exception as exc:  # a full disk or a permission must not stop a file from being ingested
            log.warning("validation results of %d files (%s) not kept in %s: %s", len(files), suite, self.folder, exc)
            return None
        return target

    @staticmethod
    def _as_json(result) -> dict:
        """The result as the validation results store serialises it (then written with sorted keys, indent 2)."""
        from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema

        return ExpectationSuiteValidationResultSchema().dump(result.to_json_dict())

    @staticmethod
    def _key(suite: str, run_id, meta: dict):
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier, ValidationResultIdentifier)

        batch = (meta.get("batch_markers") or {}).get("pandas_data_fingerprint") or "batch"
        return ValidationResultIdentifier(expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
                                          run_id=run_id, batch_identifier=batch)

    def build(self) -> Path | None:
        """Build the pages of results that have none yet and the index; the index, or None with no results."""
        from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

        index = docs_index(self.folder)
        split_kept_batches(self.folder)
        stored = stored_validations(self.folder)
        if not stored:
            return None
        new = [v for v in stored if not v.page.exists()]
        if not index.exists():
            self.context.build_data_docs()
        elif new:
            keys = [ValidationResultIdentifier.from_tuple((v.suite, v.run_name, v.run_time.strftime(_RUN_TIME),
                                                           v.batch)) for v in new]
            self.context.build_data_docs(resource_identifiers=keys)
        for problem in make_offline(index.parent).warnings():  # the pages' CDN assets, from files in the site
            log.warning("%s", problem)
        return index


@dataclass(frozen=True)
class FileRows:
    """One file's rows in a stacked validation run: the run name and time its results are kept under, the row
    its rows start at and how many there are (none: nothing is kept for it)."""

    name: str
    when: dt.datetime
    start: int
    rows: int


def missing_counts(stacked, files: list[FileRows]) -> dict[str, list[int]]:
    """Per column of `stacked` (a pandas DataFrame of every file's rows), how many values each file is missing."""
    counts = {}
    for column in stacked.columns:
        before = [0, *itertools.accumulate(stacked[column].isna().to_list())]  # missing values before each row
        counts[str(column)] = [before[f.start + f.rows] - before[f.start] if f.rows else 0 for f in files]
    return counts


def split_kept_batches(folder: Path) -> int:
    """Split every kept batch's result into each file's own, where Great Expectations (its results store and Data
    Docs) and stored_validations() find them; how many results were written. Needs no Great Expectations."""
    written = 0
    for path in sorted((folder / KEPT_BATCHES).glob("*.json")):
        try:
            batch = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # cut short by a crash: the validation itself is in raw.issues
            log.warning("kept validation results %s cannot be read (%s); removed", path, exc)
            path.unlink(missing_ok=True)
            continue
        files = [FileRows(name, dt.datetime.fromisoformat(when), start, rows)
                 for name, when, start, rows in batch["files"]]
        parts = split_result(batch["result"], files, batch["missing"], batch["index"])
        for f, part in zip(files, parts):
            if part is not None:
                write_validation_result(folder, batch["suite"], part, f.name, f.when)
                written += 1
        path.unlink()
    return written


def write_validation_result(folder: Path, suite: str, result: dict, name: str, when: dt.datetime) -> Path:
    """Write one serialised validation result where Great Expectations' file results store keeps it:
    validations/<suite>/<run name>/<run time>/<batch fingerprint>.json, with the run in its meta. Sorted keys as
    the store writes them, without its indentation: json's C encoder only works without it, and Great Expectations
    reads either (tests/test_quality_docs.py reads them back through it)."""
    meta = dict(result.get("meta") or {})
    batch = (meta.get("batch_markers") or {}).get("pandas_data_fingerprint") or "batch"
    meta["run_id"] = {"run_name": name, "run_time": when.isoformat()}
    target = folder / RESULTS / suite / name / when.strftime(_RUN_TIME) / f"{batch}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({**result, "meta": meta}, sort_keys=True, separators=(",", ":")), encoding="utf-8")
    return target


def split_result(whole: dict, files: list[FileRows], missing: dict[str, list[int]],
                 index: str) -> list[dict | None]:
    """Each file's part of a stacked run's serialised result, as if the file had been validated alone (None for a
    file without rows): counts, lists and success recomputed on its rows, `missing` giving each column's missing
    values per file. The failing rows are split by file once, so this costs the size of the result, not the
    number of files times it."""
    starts = [f.start for f in files]
    split = []
    for r in whole.get("results") or []:
        found = r.get("result") or {}
        hits = found.get("unexpected_index_list") or []
        values = found.get("unexpected_list") or []
        by_file: dict[int, list[int]] = {}
        for k, hit in enumerate(hits):
            by_file.setdefault(bisect_right(starts, hit[index]) - 1, []).append(k)
        column = ((r.get("expectation_config") or {}).get("kwargs") or {}).get("column")
        split.append((r, found, hits, values if len(values) == len(hits) else None, by_file, missing.get(column)))
    parts: list[dict | None] = []
    for i, f in enumerate(files):
        if not f.rows:
            parts.append(None)
            continue
        results = [_expectation_part(r, found, hits, values, by_file.get(i, []), f, lacking[i] if lacking else 0,
                                     index)
                   for r, found, hits, values, by_file, lacking in split]
        evaluated, passed = len(results), sum(1 for r in results if r["success"])
        statistics = {**(whole.get("statistics") or {}), "evaluated_expectations": evaluated,
                      "successful_expectations": passed, "unsuccessful_expectations": evaluated - passed,
                      "success_percent": 100 * passed / evaluated if evaluated else None}
        parts.append({**whole, "results": results, "success": passed == evaluated, "statistics": statistics})
    return parts


def _counts(values: list) -> list[dict]:
    try:
        counted = Counter(values)
    except TypeError:  # unhashable values: count their text
        counted = Counter(map(str, values))
    return [{"value": v, "count": c} for v, c in counted.most_common()]


def _expectation_part(r: dict, found: dict, hits: list, values: list | None, keep: list[int], file: FileRows,
                      missing: int, index: str) -> dict:
    local = [{**hits[k], index: hits[k][index] - file.start} for k in keep]
    mine = [values[k] for k in keep] if values is not None else []
    rows, count = file.rows, len(keep)
    nonmissing = rows - missing
    result = dict(found)
    result.update({k: v for k, v in {
        "element_count": rows, "missing_count": missing, "unexpected_count": count,
        "missing_percent": 100 * missing / rows if rows else None,
        "unexpected_percent": 100 * count / nonmissing if nonmissing else None,
        "unexpected_percent_total": 100 * count / rows if rows else None,
        "unexpected_percent_nonmissing": 100 * count / nonmissing if nonmissing else None,
        "unexpected_list": mine, "unexpected_index_list": local,
        "partial_unexpected_list": mine[:20], "partial_unexpected_index_list": local[:20],
        "partial_unexpected_counts": _counts(mine[:20]),
        # how Great Expectations tells pandas users to find the rows (a file's frame is indexed by its row_id)
        "unexpected_index_query": f"df.filter(items={[hit[index] for hit in local]}, axis=0)",
    }.items() if k in found})  # the same keys as the expectation gave for the whole run
    return {**r, "result": result, "success": count == 0}


class DocsNotBuilt(RuntimeError):
    """Great Expectations could not build the Data Docs pages; the validation results stay kept."""


@dataclass(frozen=True)
class DocsBuilt:
    """`warmline docs`: how many validation results are kept, how many pages were built now, and the index."""

    kept: int
    built: int
    index: Path


def build_pending_pages(folder: Path) -> DocsBuilt:
    """Build the Data Docs pages of the kept validation results that have none yet, and the index."""
    split_kept_batches(folder)
    stored = stored_validations(folder)
    waiting = pages_to_build(folder, stored) if stored else []
    if waiting:
        try:
            ResultStore(folder).build()
        except Exception as exc:  # Great Expectations' own failures: said in one line, the results are kept
            raise DocsNotBuilt(f"the Data Docs in {folder} could not be built ({type(exc).__name__}: {exc}); the "
                               "validation results are kept — run `warmline --debug docs` for the traceback") from exc
    elif docs_index(folder).exists():  # a site built before its pages were made to open offline: made so now
        for problem in make_offline(docs_index(folder).parent).warnings():
            log.warning("%s", problem)
    return DocsBuilt(len(stored), len(waiting), docs_index(folder))
