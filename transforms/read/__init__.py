"""From a file's bytes to a parsed submission: the guarded reader, the workbook, its tables, headers and figure cells."""
