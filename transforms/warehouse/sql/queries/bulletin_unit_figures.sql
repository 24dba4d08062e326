-- Every unit-level figure that counts on day $day (a unit's latest report as of the day), with the submission,
-- file and cells it came from. Unit aggregates only: no row of a workbook (town, household) is read here.
with

unit_day as (select * from marts.unit_day where as_of_date = $day and submission_id is not null),

facts as (select * from raw.facts),

submissions as (select submission_id, file_name from raw.submissions),

indicators as (select indicator, position from ref.indicators),

final as (
    select
        unit_day.unit_code,
        unit_day.unit_name,
        unit_day.report_date,
        facts.indicator,
        facts.item_type,
        facts.value,
        facts.qualifier,
        facts.parts_unspecified,
        facts.submission_id,
        submissions.file_name,
        facts.source_cells,
        facts.raw_text,
        unit_day.position as unit_position,
        indicators.position as indicator_position
    from unit_day
    join facts using (submission_id)
    join submissions using (submission_id)
    left join indicators using (indicator)
)

select * exclude (unit_position, indicator_position)
from final
order by unit_position, indicator_position, indicator, item_type nulls first
