"""warmline's pure library, one package per stage a submitted file passes through, in order:

core       the home's folders, the campaign's reference data, figures as officials write them, text for people
read       a file's bytes to a parsed submission (guarded reader, workbook, tables, headers, figure cells)
validate   the Great Expectations suites and their Data Docs
warehouse  the DuckDB warehouse: connection, SQL models, the analysts' copy, queries, audit, dictionary
ingest     a landed file received, read, validated and recorded, or refused with a report
day        a campaign day: checks, status, the publishing gate, the roll-up cache, the release log
bulletin   the press office's bulletin: figures, text, numbers, chart, Word file, lineage

Each package imports only the ones above it (tests/test_layering.py). Nothing here imports Prefect or flows/.
"""
