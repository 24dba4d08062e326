-- The figures in each unit's counted file for day $day (reported that day or carried forward) that were not
-- loaded, one row per header they sit under: where, why, what the header could have been, how many cells and the
-- first of them. raw.unmapped_cells holds every such cell; raw.header_readings how its header was read.
with

unit_day as (
    select unit_code, unit_name, level, position, day_status, report_date, submission_id
    from marts.unit_day
    where as_of_date = $day and submission_id is not null
),

cells as (
    select unmapped.*, unmapped.rowid as read_order
    from raw.unmapped_cells as unmapped
    where unmapped.submission_id in (select submission_id from unit_day)
),

by_header as (
    select
        submission_id,
        sheet,
        header,
        header_cell,
        reason,
        count(*) as cells,
        arg_min(cell, read_order) as first_cell,
        arg_min(raw_text, read_order) as first_text,
        min(read_order) as read_order
    from cells
    group by all
),

readings as (
    select submission_id, sheet, cell as header_cell, candidates, detail
    from raw.header_readings
    where how = 'unmapped'
),

final as (
    select
        unit_day.unit_code,
        unit_day.unit_name,
        unit_day.day_status,
        unit_day.report_date,
        by_header.submission_id,
        submissions.file_name,
        by_header.sheet,
        by_header.header,
        by_header.header_cell,
        by_header.reason,
        coalesce(readings.candidates, '') as candidates,
        coalesce(readings.detail, '') as detail,
        by_header.cells,
        by_header.first_cell,
        by_header.first_text,
        unit_day.level,
        unit_day.position,
        by_header.read_order
    from by_header
    join unit_day using (submission_id)
    join raw.submissions as submissions using (submission_id)
    left join readings using (submission_id, sheet, header_cell)
)

select * exclude (level, position, read_order) from final
order by level = 'county', position, read_order
