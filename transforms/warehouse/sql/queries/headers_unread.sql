-- Every header left unmapped across the files on record, by its text and why: what it could be, how many files and
-- figure cells, and one example cell (the first received).
with

readings as (
    select header, rule as reason, candidates, detail, submission_id, sheet, cell as header_cell, cells
    from raw.header_readings
    where how = 'unmapped' and cells > 0
),

examples as (
    select submission_id, sheet, header_cell, arg_min(cell, rowid) as cell, arg_min(raw_text, rowid) as raw_text
    from raw.unmapped_cells
    group by all
),

with_example as (
    select readings.*, submissions.file_name, submissions.received_at, examples.cell, examples.raw_text
    from readings
    join raw.submissions as submissions using (submission_id)
    left join examples using (submission_id, sheet, header_cell)
),

final as (
    select
        header,
        reason,
        candidates,
        detail,
        count(distinct submission_id) as files,
        sum(cells) as cells,
        arg_min(file_name, received_at) as example_file,
        arg_min(sheet || '!' || coalesce(cell, header_cell), received_at) as example_cell,
        arg_min(coalesce(raw_text, ''), received_at) as example_text
    from with_example
    group by header, reason, candidates, detail
)

-- the headers a statistician can act on first: those whose figures may belong in the totals
select * from final order by reason in ('excluded', 'breakdown'), cells desc, header
