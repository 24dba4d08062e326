"""Great Expectations Data Docs under data/quality/: each submission's validation results kept, the site built.

Results are stored when a file is validated (a few milliseconds); the HTML site is built later, only for the
results that have no page yet, by `warmline status` (a full rebuild costs about 40 ms per stored result).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("warmline.quality")

RESULTS = Path("gx", "uncommitted", "validations")
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


def docs_outdated(folder: Path) -> bool:
    """Whether a kept result has no Data Docs page yet (or there is no site): only then is GX needed to build."""
    stored = stored_validations(folder)
    return bool(stored) and (not docs_index(folder).exists() or any(not v.page.exists() for v in stored))


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

    def keep(self, suite: str, result, name: str, when: dt.datetime | None = None):
        """Store one ExpectationSuiteValidationResult under run `name`; its key, or None when it could not be
        stored (Data Docs are a view of the validation, not its record: raw.issues is)."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier, ValidationResultIdentifier)

        run_id = RunIdentifier(run_name=name, run_time=when or dt.datetime.now(dt.timezone.utc))
        batch = ((result.meta or {}).get("batch_markers") or {}).get("pandas_data_fingerprint") or "batch"
        key = ValidationResultIdentifier(expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
                                         run_id=run_id, batch_identifier=batch)
        result.meta["run_id"] = run_id
        try:
            self.context.validation_results_store.set(key, result)
        except Exception as exc:  # a full disk or a permission must not stop a file from being ingested
            log.warning("validation result of %s (%s) not kept in %s: %s", name, suite, self.folder, exc)
            return None
        return key

    def build(self) -> Path | None:
        """Build the pages of results that have none yet and the index; the index, or None with no results."""
        from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

        index = docs_index(self.folder)
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
        return index
