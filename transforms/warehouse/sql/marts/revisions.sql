-- What each correction changed: a superseded file against the file that replaced it (same unit and date), and a
-- file read again from the archive (after a header was accepted) against its earlier reading, figure by figure;
-- only figures that differ (including one given in one reading and blank in the other).
with

files as (select submission_id, file_name, unit_code, as_of_date, status, received_at from raw.submissions),

-- each change once: the reading before it and the reading after, named by their files (a file read again is both)
changes as (
    select old.submission_id as old_submission_id, old.file_name as old_file,
           new.submission_id as new_submission_id, new.file_name as new_file,
           new.unit_code, new.as_of_date, new.received_at as revised_at, null::timestamptz as reread_at
    from files as old
    join files as new
        on new.unit_code = old.unit_code and new.as_of_date = old.as_of_date and new.status = 'loaded'
    where old.status = 'superseded'
    union all
    -- files read again: the last reading before the current one (raw.reread_facts) against raw.facts now
    select * from (
        select rereads.submission_id, files.file_name, rereads.submission_id, files.file_name,
               files.unit_code, files.as_of_date, rereads.reread_at, rereads.reread_at
        from raw.rereads as rereads
        join files using (submission_id)
        where files.status in ('loaded', 'superseded')
        qualify row_number() over (partition by rereads.submission_id order by rereads.reread_at desc) = 1
    )
),

-- the reading before: the superseded file's facts, or a re-read file's facts as they stood before it was read again
before as (
    select changes.*, facts.indicator, facts.item_type, facts.value, facts.qualifier
    from changes
    join raw.facts as facts on facts.submission_id = changes.old_submission_id
    where changes.reread_at is null
    union all
    select changes.*, facts.indicator, facts.item_type, facts.value, facts.qualifier
    from changes
    join raw.reread_facts as facts
        on facts.submission_id = changes.old_submission_id and facts.reread_at = changes.reread_at
),

after as (
    select changes.*, facts.indicator, facts.item_type, facts.value, facts.qualifier
    from changes
    join raw.facts as facts on facts.submission_id = changes.new_submission_id
),

compared as (
    select
        coalesce(o.unit_code, n.unit_code) as unit_code,
        coalesce(o.as_of_date, n.as_of_date) as as_of_date,
        coalesce(o.indicator, n.indicator) as indicator,
        coalesce(o.item_type, n.item_type) as item_type,
        o.value as old_value,
        o.qualifier as old_qualifier,
        n.value as new_value,
        n.qualifier as new_qualifier,
        coalesce(o.old_file, n.old_file) as old_file,
        coalesce(o.new_file, n.new_file) as new_file,
        coalesce(o.old_submission_id, n.old_submission_id) as old_submission_id,
        coalesce(o.new_submission_id, n.new_submission_id) as new_submission_id,
        coalesce(o.revised_at, n.revised_at) as revised_at
    from before as o
    full join after as n
        on n.old_submission_id = o.old_submission_id and n.new_submission_id = o.new_submission_id
        and n.revised_at = o.revised_at and n.indicator = o.indicator and n.item_type is not distinct from o.item_type
)

select * from compared
where old_value is distinct from new_value or old_qualifier is distinct from new_qualifier
order by as_of_date, unit_code, indicator, item_type
