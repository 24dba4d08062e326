-- Rows breaking a rule between their figures, in the submissions loaded for day $day (those the day's figures come
-- from), as found when each file was validated; in the order of the rules in $rules, then file and row.
select s.unit_code, u.unit_name, s.file_name, c.sheet, c.cells, c.rule, c.message_zh, c.message_en
from raw.submissions as s
join raw.cross_field_findings as c using (submission_id)
join ref.units as u on u.unit_code = s.unit_code
where s.status = 'loaded' and s.as_of_date = $day
order by coalesce(list_position($rules, c.rule), len($rules) + 1), s.submission_id, c.sheet, c.row_number
