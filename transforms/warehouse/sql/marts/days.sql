-- The marts' calendar: every day from the campaign's start to the latest day computed or reported.
with

bounds as (
    select
        (select start_date from ref.campaign) as first_day,
        greatest(
            (select max(as_of_date) from raw.rollup_days),
            (select max(as_of_date) from raw.submissions where status = 'loaded')
        ) as last_day
),

final as (
    select cast(t.day as date) as as_of_date
    from bounds, generate_series(bounds.first_day, bounds.last_day, interval 1 day) as t(day)
    where bounds.last_day is not null
)

select * from final
