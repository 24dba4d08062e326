-- One unit's history
-- Day by day, where one unit (翁源县, 440229) stands: reported, carried forward from an earlier report, or
-- missing, and its headline figures as they count that day.
with

days as (
    select as_of_date, day_status, report_date, submission_id
    from marts.unit_day
    where unit_code = '440229'
),

figures as (
    select as_of_date, indicator, value
    from marts.unit_day_figures
    where unit_code = '440229' and item_type is null
),

final as (
    select
        days.as_of_date,
        days.day_status,
        days.report_date,
        max(figures.value) filter (where figures.indicator = 'households_visited') as households_visited,
        max(figures.value) filter (where figures.indicator = 'funds_disbursed') as funds_disbursed,
        max(figures.value) filter (where figures.indicator = 'items_issued') as items_issued,
        max(figures.value) filter (where figures.indicator = 'patrols_run') as patrols_run,
        days.submission_id
    from days
    left join figures using (as_of_date)
    group by all
)

select * from final order by as_of_date;
