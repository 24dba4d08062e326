"""Validation results kept for Data Docs from a batch are each file's own, the same as Great Expectations keeps for
the file validated alone, and Great Expectations reads them back and builds their pages."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ingest_inbox, land_mixed_batch, make_home
from tests.test_ingest_many import ingest_many
from transforms.ingest.ingestor import Ingestor
from transforms.validate.data_docs import KEPT_BATCHES, ResultStore, split_kept_batches, stored_validations
from transforms.validate.suites import SubmissionValidator


def kept(quality) -> list[tuple[str, str, dict]]:
    """(suite, run name, result without what differs between two runs of the same file) of every kept result."""
    out = []
    for v in stored_validations(quality):
        result = json.loads(v.result.read_text(encoding="utf-8"))
        meta = result["meta"]
        assert meta["run_id"]["run_name"] == v.run_name
        # the moment of the run, and the fingerprint of the frame validated (a batch's stacked frame)
        del meta["run_id"], meta["batch_markers"]
        out.append((v.suite, v.run_name, result))
    return sorted(out, key=lambda k: (k[0], k[1], json.dumps(k[2], sort_keys=True)))


@pytest.fixture(scope="module")
def alone_and_batched(tmp_path_factory, ref, reader):
    """The mixed batch ingested one file at a time in one home and as one batch in another, keeping results."""
    homes = []
    for name in ("alone", "batched"):
        root = tmp_path_factory.mktemp(name)
        layout = make_home(root / "home")
        land_mixed_batch(layout, ref, root / "scratch", unreadable=True)
        validator = SubmissionValidator(ref, quality_dir=layout.quality)
        ingestor = Ingestor(layout, ref, validator, reader, quiet_seconds=0)
        if name == "alone":  # each file a batch of one, its results split as the Data Docs build does
            ingest_inbox(ingestor)
            assert split_kept_batches(layout.quality) == 16
        else:
            ingest_many(ingestor)
            # a batch keeps one file per suite; each file's results appear once split (as the Data Docs build does)
            assert stored_validations(layout.quality) == []
            assert len(list((layout.quality / KEPT_BATCHES).iterdir())) == 2
            assert split_kept_batches(layout.quality) == 16
            assert list((layout.quality / KEPT_BATCHES).iterdir()) == []
        homes.append(layout)
    return homes


def test_each_file_of_a_batch_keeps_the_result_it_would_have_alone(alone_and_batched):
    alone, batched = alone_and_batched
    one_by_one, together = kept(alone.quality), kept(batched.quality)
    # 7 loaded files and the rejected one are validated (the duplicate and the unreadable file are not): 2 suites each
    assert len(together) == 16
    assert [(s, n) for s, n, _ in together] == [(s, n) for s, n, _ in one_by_one]
    for (suite, name, mine), (_, _, reference) in zip(together, one_by_one):
        assert mine == reference, f"{suite} result of {name} differs from the file validated alone"
    # 浈江区 sent the worked example's file and one with a negative figure
    zhenjiang = [r for s, n, r in together if s == "figures" and n.startswith("440204")]
    assert sorted(r["success"] for r in zhenjiang) == [False, True]
    bad = next(r for r in zhenjiang if not r["success"])
    negative = next(x for x in bad["results"] if x["expectation_config"]["meta"]["rule"] == "negative-figure")
    assert negative["result"]["unexpected_count"] == 1 and negative["result"]["unexpected_list"] == [-5.0]


def test_great_expectations_reads_the_kept_results_back_and_builds_their_pages(alone_and_batched, ref):
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

    _, batched = alone_and_batched
    store = ResultStore(batched.quality)
    results = store.context.validation_results_store
    keys = results.list_keys()
    assert len(keys) == 16
    for key in keys:
        assert isinstance(key, ValidationResultIdentifier)
        result = results.get(key)
        assert result.meta["run_id"]["run_name"] == key.run_id.run_name
        assert result.statistics["evaluated_expectations"] == len(result.results)
    index = store.build()
    assert index is not None and index.exists()
    assert all(v.page.exists() for v in stored_validations(batched.quality))


def test_a_kept_batch_cut_short_by_a_crash_is_dropped(tmp_path):
    folder = tmp_path / "quality"
    (folder / KEPT_BATCHES).mkdir(parents=True)
    (folder / KEPT_BATCHES / "20231220T010000.000000Z-figures-deadbeef.json").write_text('{"suite": "fig',
                                                                                         encoding="utf-8")
    assert split_kept_batches(folder) == 0
    assert list((folder / KEPT_BATCHES).iterdir()) == []
