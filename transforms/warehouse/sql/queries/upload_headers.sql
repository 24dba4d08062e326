-- The headers of one submission that a clerk should look at: read by inference (not by a catalogue alias), or
-- left unmapped, with what they were read as, the words that decided and what they could have been.
SELECT h.sheet, h.cell, h.header, h.unit, h.indicator, i.name_zh, h.item_type, h.how, h.rule, h.words,
       h.candidates, h.detail, h.cells
FROM raw.header_readings h
LEFT JOIN ref.indicators i USING (indicator)
WHERE h.submission_id = $submission_id AND h.how <> 'alias'
ORDER BY h.how = 'unmapped' DESC, h.sheet, length(h.cell), h.cell
