-- What each correction changed: a superseded file against the file that replaced it (same unit and date),
-- figure by figure; only figures that differ (including one given in one file and blank in the other).
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

select * from compared
where old_value is distinct from new_value or old_qualifier is distinct from new_qualifier
order by as_of_date, unit_code, indicator, item_type
