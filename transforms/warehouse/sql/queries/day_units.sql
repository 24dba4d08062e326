-- Each expected unit on day $day: its status, the report it counts from, and its four headline figures.
with

unit_day as (select * from marts.unit_day where as_of_date = $day and expected),

figures as (select * from marts.unit_day_figures where as_of_date = $day and item_type is null),

final as (
    select
        unit_day.unit_code,
        unit_day.unit_name,
        unit_day.day_status,
        unit_day.report_date,
        unit_day.submission_id,
        max(figures.value) filter (where figures.indicator = 'households_visited') as households_visited,
        max(figures.qualifier) filter (where figures.indicator = 'households_visited') as households_visited_qualifier,
        max(figures.value) filter (where figures.indicator = 'funds_disbursed') as funds_disbursed,
        max(figures.qualifier) filter (where figures.indicator = 'funds_disbursed') as funds_disbursed_qualifier,
        max(figures.value) filter (where figures.indicator = 'items_issued') as items_issued,
        max(figures.qualifier) filter (where figures.indicator = 'items_issued') as items_issued_qualifier,
        max(figures.parts_unspecified) filter (where figures.indicator = 'items_issued') as items_issued_unspecified,
        max(figures.value) filter (where figures.indicator = 'patrols_run') as patrols_run,
        max(figures.qualifier) filter (where figures.indicator = 'patrols_run') as patrols_run_qualifier,
        any_value(unit_day.position) as position
    from unit_day
    left join figures using (unit_code)
    group by all
)

select * exclude (position) from final order by position
