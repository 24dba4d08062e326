-- Every figure of one submission as it was read: the indicator in Chinese, the value with its qualifier, the
-- cell it came from and the text written there (what a clerk checks against the sheet).
SELECT f.sheet, f.cell, f.row_label, f.row_role, f.indicator, i.name_zh, i.name_en, i.unit, f.item_type,
       f.value, f.qualifier, f.raw_text
FROM raw.figures f
LEFT JOIN ref.indicators i USING (indicator)
WHERE f.submission_id = $submission_id
ORDER BY f.sheet, coalesce(i.position, 9999), f.indicator, f.row_role <> 'total', f.row_label NULLS FIRST, f.cell
