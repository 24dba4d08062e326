-- The four headline figures of each day, one row per day, each with its qualifier.
with

totals as (select * from marts.city_totals),

final as (
    select
        as_of_date,
        max(value) filter (where indicator = 'households_visited') as households_visited,
        max(qualifier) filter (where indicator = 'households_visited') as households_visited_qualifier,
        max(value) filter (where indicator = 'funds_disbursed') as funds_disbursed,
        max(qualifier) filter (where indicator = 'funds_disbursed') as funds_disbursed_qualifier,
        max(value) filter (where indicator = 'items_issued') as items_issued,
        max(qualifier) filter (where indicator = 'items_issued') as items_issued_qualifier,
        max(value) filter (where indicator = 'patrols_run') as patrols_run,
        max(qualifier) filter (where indicator = 'patrols_run') as patrols_run_qualifier,
        max(units_reporting) as units_reporting,
        max(units_carried) as units_carried,
        max(units_missing) as units_missing
    from totals
    group by as_of_date
)

select * from final order by as_of_date
