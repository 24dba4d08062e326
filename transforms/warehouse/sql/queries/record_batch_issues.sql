-- Every problem found in a batch of submissions, from the Arrow table registered as batch_issues.
INSERT INTO raw.issues SELECT * FROM batch_issues
