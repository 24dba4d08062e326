"""The press office's bulletin: its figures from the warehouse, its text, numbers, chart, Word file and lineage."""
