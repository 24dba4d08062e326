-- City-wide figures that changed after their day was published (a correction arrived later), with the text the
-- bulletin printed for them (NULL for a figure it did not print, or published before printed texts were kept).
with

last_published as (
    select as_of_date, indicator, value, qualifier, printed, published_at
    from raw.published_figures
    qualify published_at = max(published_at) over (partition by as_of_date)
),

final as (
    select
        p.as_of_date,
        p.indicator,
        p.value as published_value,
        p.qualifier as published_qualifier,
        p.printed as published_text,
        t.value as current_value,
        t.qualifier as current_qualifier,
        p.published_at
    from last_published as p
    join marts.city_totals as t using (as_of_date, indicator)
    where p.value is distinct from t.value or p.qualifier is distinct from t.qualifier
)

select * from final order by as_of_date, indicator
