-- Each unit's daily increments: every loaded report's cumulative figure minus the same figure in the unit's
-- previous report (NULL for a first report or a figure not given before). A negative increment means the
-- cumulative figure fell below the unit's own earlier report.
with

reports as (
    select submission_id, unit_code, as_of_date
    from raw.submissions
    where status = 'loaded'
),

figures as (
    select reports.unit_code, reports.as_of_date, reports.submission_id, facts.indicator, facts.item_type,
           facts.value, facts.qualifier
    from reports
    join raw.facts as facts using (submission_id)
),

with_previous as (
    select
        *,
        lag(value) over by_figure as previous_value,
        lag(as_of_date) over by_figure as previous_date,
        lag(submission_id) over by_figure as previous_submission_id
    from figures
    window by_figure as (partition by unit_code, indicator, item_type order by as_of_date)
),

final as (
    select
        unit_code,
        as_of_date,
        indicator,
        item_type,
        value,
        qualifier,
        previous_date,
        previous_value,
        value - previous_value as increment,
        coalesce(value < previous_value, false) as falls_below_earlier,
        submission_id,
        previous_submission_id
    from with_previous
)

select * from final order by unit_code, indicator, item_type, as_of_date
