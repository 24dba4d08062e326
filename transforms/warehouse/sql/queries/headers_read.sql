-- Every header mapped to an indicator across the files on record, by its text and how it was mapped: how many
-- files and figure cells.
with

readings as (
    select header, unit, indicator, item_type, how, rule, words, submission_id, cells
    from raw.header_readings
    where how <> 'unmapped'
),

final as (
    select header, unit, indicator, item_type, how, rule, words,
           count(distinct submission_id) as files, sum(cells) as cells
    from readings
    group by all
)

select * from final order by how = 'alias', indicator, item_type nulls first, header
