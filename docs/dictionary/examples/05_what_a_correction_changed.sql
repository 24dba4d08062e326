-- What a correction changed
-- A later file for the same unit and date supersedes the earlier one; both are kept. marts.revisions sets each
-- superseded file against the file that replaced it, figure by figure, and keeps the figures that differ
-- (NULL: no figure in that file).
select
    unit_code,
    as_of_date,
    indicator,
    item_type,
    old_value,
    old_qualifier,
    new_value,
    new_qualifier,
    old_file,
    new_file,
    revised_at
from marts.revisions
order by as_of_date, unit_code, indicator, item_type nulls first;
