-- The unit-level figures of a batch's loaded submissions, from the Arrow table registered as batch_facts.
INSERT INTO raw.facts SELECT * FROM batch_facts
