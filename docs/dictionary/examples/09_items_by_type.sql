-- Relief items by type on a day
-- Items issued per type, as far as units reported them by type (棉衣, 棉被, 食品…); units that gave only a
-- total are in the items_issued figure of marts.city_totals, not here.
select item_type, value, qualifier, parts_unspecified, units_with_figure
from marts.city_items_by_type
where as_of_date = date '2023-12-20'
order by value desc nulls last;
