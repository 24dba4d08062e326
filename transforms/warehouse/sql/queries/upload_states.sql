-- The latest state of each of a unit's uploaded files that has been read (the web page's list of earlier uploads).
SELECT file_name, arg_max(status, processed_at) AS status
FROM raw.submissions
WHERE list_contains($names, file_name)
GROUP BY file_name
