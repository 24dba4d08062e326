-- What each correction changed: a superseded file against the file that replaced it (same unit and date), and a
-- file read again from the archive (after a header was accepted) against its earlier reading, figure by figure;
-- only figures that differ (including one given in one reading and blank in the other).
with

files as (select submission_id, file_name, unit_code, as_of_date, status, received_at from raw.submissions),

pairs as (
    select old.submission_id as old_submission_id, old.file_name as old_file,
           new.submission_id as new_submission_id, new.file_name as new_file,
           new.unit_code, new.as_of_date, new.received_at as revised_at
    from files as old
    join files as new
        on new.unit_code = old.unit_code and new.as_of_date = old.as_of_date and new.status = 'loaded'
    where old.status = 'superseded'
),

-- every figure either file gave (two equality joins: a join on "in (old, new)" is a nested loop over raw.facts)
figure_keys as (
    select distinct pairs.*, facts.indicator, facts.item_type
    from pairs
    join raw.facts as facts on facts.submission_id = pairs.old_submission_id
    union
    select distinct pairs.*, facts.indicator, facts.item_type
    from pairs
    join raw.facts as facts on facts.submission_id = pairs.new_submission_id
),

-- files read again: the last reading before the current one (raw.reread_facts) against raw.facts now
rereads as (
    select rereads.submission_id, rereads.reread_at, files.file_name, files.unit_code, files.as_of_date
    from raw.rereads as rereads
    join files using (submission_id)
    where files.status in ('loaded', 'superseded')
    qualify row_number() over (partition by rereads.submission_id order by rereads.reread_at desc) = 1
),

reread_keys as (
    select distinct rereads.*, before.indicator, before.item_type
    from rereads
    join raw.reread_facts as before using (submission_id, reread_at)
    union
    select distinct rereads.*, facts.indicator, facts.item_type
    from rereads
    join raw.facts as facts using (submission_id)
),

reread_compared as (
    select
        keys.unit_code,
        keys.as_of_date,
        keys.indicator,
        keys.item_type,
        o.value as old_value,
        o.qualifier as old_qualifier,
        n.value as new_value,
        n.qualifier as new_qualifier,
        keys.file_name as old_file,
        keys.file_name as new_file,
        keys.submission_id as old_submission_id,
        keys.submission_id as new_submission_id,
        keys.reread_at as revised_at
    from reread_keys as keys
    left join raw.reread_facts as o
        on o.submission_id = keys.submission_id and o.reread_at = keys.reread_at and o.indicator = keys.indicator
        and o.item_type is not distinct from keys.item_type
    left join raw.facts as n
        on n.submission_id = keys.submission_id and n.indicator = keys.indicator
        and n.item_type is not distinct from keys.item_type
),

compared as (
    select
        keys.unit_code,
        keys.as_of_date,
        keys.indicator,
        keys.item_type,
        o.value as old_value,
        o.qualifier as old_qualifier,
        n.value as new_value,
        n.qualifier as new_qualifier,
        keys.old_file,
        keys.new_file,
        keys.old_submission_id,
        keys.new_submission_id,
        keys.revised_at
    from figure_keys as keys
    left join raw.facts as o
        on o.submission_id = keys.old_submission_id and o.indicator = keys.indicator
        and o.item_type is not distinct from keys.item_type
    left join raw.facts as n
        on n.submission_id = keys.new_submission_id and n.indicator = keys.indicator
        and n.item_type is not distinct from keys.item_type
)

select * from (select * from compared union all select * from reread_compared)
where old_value is distinct from new_value or old_qualifier is distinct from new_qualifier
order by as_of_date, unit_code, indicator, item_type
