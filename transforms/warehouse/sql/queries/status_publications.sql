-- Each time day $day was published (bulletin written): when (campaign time), whether forced past blocking
-- checks, which, and the reason given for forcing it.
select
    publications.as_of_date,
    timezone(campaign.timezone, publications.published_at) as published_local,
    publications.forced,
    publications.blocking_checks,
    publications.force_reason
from raw.publications as publications
cross join ref.campaign as campaign
where publications.as_of_date = $day
order by publications.published_at
