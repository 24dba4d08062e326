-- Every figure cell of a batch's loaded submissions, from the Arrow table registered as batch_figures.
INSERT INTO raw.figures SELECT * FROM batch_figures
