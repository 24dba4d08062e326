-- The names of the marts views of the open database, sorted: what is published as Parquet and documented.
select view_name
from duckdb_views()
where database_name = current_database() and schema_name = 'marts' and not internal
order by view_name
