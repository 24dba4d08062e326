-- Every file one unit sent
-- Each file received from 翁源县 (440229), whatever became of it, newest first.
select received_at, file_name, as_of_date, status, reason, submission_id
from raw.submissions
where unit_code = '440229'
order by received_at desc;
