"""Great Expectations: the suites run on a parsed submission, and their Data Docs."""
