-- The qualifier of a sum: approx if any part is approx, else at_least if any part is,
-- else exact; unspecified when no part has a number. An aggregate: use it where sum(value) is used.
CREATE OR REPLACE MACRO marts.sum_qualifier(qualifier, value) AS
    CASE
        WHEN bool_or(qualifier = 'approx') THEN 'approx'
        WHEN bool_or(qualifier = 'at_least') THEN 'at_least'
        WHEN count(value) > 0 THEN 'exact'
        ELSE 'unspecified'
    END
