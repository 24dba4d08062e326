-- Every figure cell of a batch's files that was not loaded, from the Arrow table registered as batch_unmapped_cells.
INSERT INTO raw.unmapped_cells SELECT * FROM batch_unmapped_cells
