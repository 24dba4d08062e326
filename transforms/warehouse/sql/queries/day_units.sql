-- Each expected unit on day $day: its status, the report it counts from, and its headline figures (a template:
-- a value, qualifier and count of unspecified parts for each headline indicator).
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
        {%- for code in headline %}
        max(figures.value) filter (where figures.indicator = '{{ code }}') as {{ code }},
        max(figures.qualifier) filter (where figures.indicator = '{{ code }}') as {{ code }}_qualifier,
        max(figures.parts_unspecified) filter (where figures.indicator = '{{ code }}') as {{ code }}_unspecified,
        {%- endfor %}
        any_value(unit_day.position) as position
    from unit_day
    left join figures using (unit_code)
    group by all
)

select * exclude (position) from final order by position
