"""The writer's warm-up: what its first file would pay for is paid at its start, and nothing is recorded."""

from __future__ import annotations

import duckdb

from flows.ingest_submission import _ingestors, _prepared, warm_up


def test_the_writer_warms_up_without_recording_or_keeping_anything(home):
    try:
        assert warm_up(str(home.home)) is True  # the worked example was read and every suite run on it
        assert str(home.home) in _prepared
        con = duckdb.connect(str(home.warehouse), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM raw.submissions").fetchone() == (0,)
        finally:
            con.close()
        # no validation result kept for Data Docs, no scratch folder left, nothing landed or archived
        kept = home.quality / "gx" / "uncommitted" / "validations"
        assert [p.name for p in kept.rglob("*") if p.is_file()] == [".ge_store_backend_id"]
        assert list(home.prefect.iterdir()) == []
        assert list(home.inbox.iterdir()) == [] and list(home.archive.iterdir()) == []
    finally:
        _prepared.discard(str(home.home))
        known = _ingestors.pop(str(home.home), None)
        if known:
            known[1].reader.close()


def test_the_writer_can_give_freed_memory_back_to_the_system():
    """glibc's malloc_trim is found and runs: the writer calls it after every task (its arenas grow otherwise)."""
    from transforms.core.memory import release_free_memory

    blocks = [bytearray(4096) for _ in range(50_000)]  # 200 MB in small blocks, then freed
    del blocks
    assert release_free_memory() is True


def test_the_c_library_takes_the_writers_limit_on_malloc_arenas():
    """The writer's flat memory over thousands of files rests on glibc taking this (benchmarks/RESULTS.md); a C
    library that refuses it must show here, not as slow growth in production."""
    from transforms.core.memory import limit_malloc_arenas

    assert limit_malloc_arenas() is True


def test_the_writer_notes_its_memory_at_rest_once_every_hundred_files(caplog):
    """writer.log carries the writer's resident memory every 100 files: how an operator (and
    benchmarks/service_latency.py) sees that a long-running writer keeps its level."""
    import logging

    from flows.ingest_submission import _note_memory
    from transforms.core.memory import resident_mib

    with caplog.at_level(logging.INFO, logger="warmline.writer"):
        _note_memory(98, 99)  # no hundred crossed: nothing said
        _note_memory(99, 130)  # the 100th file was in this task
        _note_memory(130, 150)
        _note_memory(150, 420)  # one note for a task that crossed several hundreds
    notes = [r.getMessage() for r in caplog.records if r.name == "warmline.writer"]
    assert len(notes) == 2
    assert notes[0].startswith("130 files read; ") and notes[0].endswith(" MiB resident at rest")
    assert notes[1].startswith("420 files read; ")
    mib = float(notes[0].split("; ")[1].split()[0])
    assert 20 < mib < 4096 and abs(mib - resident_mib()) < 200  # this test process's own size, not a constant
