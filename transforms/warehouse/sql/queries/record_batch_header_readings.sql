-- How every header of a batch's files was read, from the Arrow table registered as batch_header_readings.
INSERT INTO raw.header_readings SELECT * FROM batch_header_readings
