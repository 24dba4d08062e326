-- The headline indicators of the open database's reference, in catalogue order: the columns of marts.headline.
select indicator from ref.indicators where headline order by position
