-- The campaign's name, city and first day, for the bulletin's title and opening sentence.
select name, city, start_date from ref.campaign
