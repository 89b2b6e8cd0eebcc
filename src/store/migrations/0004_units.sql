-- Version 4: the units Kling billed for a finished task (`final_unit_deduction` in its reply),
-- as the decimal text the reply gave after checking; NULL until a reply says. Written in the SQL
-- that SQLite and PostgreSQL both accept.
ALTER TABLE tasks ADD COLUMN units TEXT;
