-- Figure cells of the submissions loaded for day $day, with their row, for rules between figures of one row.
select s.submission_id, s.unit_code, u.unit_name, s.file_name, f.sheet, f.cell,
       cast(regexp_extract(f.cell, '[0-9]+$') as integer) as row_number, f.row_role, f.indicator, f.value
from raw.submissions as s
join raw.figures as f using (submission_id)
join ref.units as u on u.unit_code = s.unit_code
where s.status = 'loaded' and s.as_of_date = $day and f.item_type is null and f.value is not null
