-- Where a city figure comes from
-- The parts of one city-wide figure (funds disbursed on 2023-12-20): each unit's figure, the file and the
-- cells it was read from, and the text as the clerk wrote it. A figure already included in another unit's
-- (counted is false: see marts.overlaps) is left out.
select
    figures.unit_name,
    figures.day_status,
    submissions.file_name,
    facts.value,
    facts.qualifier,
    facts.source_cells,
    facts.raw_text
from marts.unit_day_figures as figures
join raw.facts as facts
    on facts.submission_id = figures.submission_id
    and facts.indicator = figures.indicator
    and facts.item_type is not distinct from figures.item_type
join raw.submissions as submissions on submissions.submission_id = figures.submission_id
where figures.as_of_date = date '2023-12-20' and figures.indicator = 'funds_disbursed' and figures.item_type is null
    and figures.counted
order by facts.value desc nulls last;
