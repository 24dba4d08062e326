-- The figure cells of one submission that were not loaded, with their header and why (none is silently dropped).
SELECT sheet, cell, header, header_cell, row_label, raw_text, reason
FROM raw.unmapped_cells
WHERE submission_id = $submission_id
ORDER BY sheet, length(cell), cell
