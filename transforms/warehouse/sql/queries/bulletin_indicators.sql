-- The indicator catalogue: Chinese name and unit of each code, in catalogue order.
select indicator, name_zh, unit, headline from ref.indicators order by position
