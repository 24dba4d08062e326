-- Each loaded file of batch_loaded (submission_id, unit_code, as_of_date, received_at, file_name, position) as it
-- stood right after it was recorded, the batch recorded one file after another in the order of `position`: the
-- file counted for its unit and date (loaded) when no accepted file recorded before it, in the warehouse or
-- earlier in the batch, was received later; else superseded by the latest of those. decide_supersession.sql
-- applies the same rule to whole units and dates once the batch is in. `displaced_id`: the file it took the
-- place of as the one counted.
with

batch as (select * from batch_loaded),

recorded_before as (
    select unit_code, as_of_date, received_at, submission_id, file_name, 0 as position
    from raw.submissions
    where status in ('loaded', 'superseded')
      and (unit_code, as_of_date) in (select unit_code, as_of_date from batch)
      and submission_id not in (select submission_id from batch)
),

candidates as (
    select * from recorded_before
    union all
    select unit_code, as_of_date, received_at, submission_id, file_name, position from batch
),

counted_before as (
    select
        batch.submission_id,
        max((candidates.received_at, candidates.submission_id)) as counted_key,
        arg_max(candidates.submission_id, (candidates.received_at, candidates.submission_id)) as counted_id,
        arg_max(candidates.file_name, (candidates.received_at, candidates.submission_id)) as counted_file
    from batch
    join candidates
        on candidates.unit_code = batch.unit_code
        and candidates.as_of_date = batch.as_of_date
        and candidates.position < batch.position
    group by batch.submission_id
),

judged as (
    select
        batch.submission_id,
        batch.position,
        counted_before.counted_key is null
            or (batch.received_at, batch.submission_id) > counted_before.counted_key as counted,
        counted_before.counted_id,
        counted_before.counted_file
    from batch
    left join counted_before using (submission_id)
),

final as (
    select
        submission_id,
        case when counted then 'loaded' else 'superseded' end as status,
        case when counted then null
             else 'superseded by ' || counted_file || ' (' || counted_id || '), a later file for the same unit '
                  || 'and date' end as reason,
        case when counted then counted_id end as displaced_id
    from judged
)

select * from final
