-- Version 2: records made by the built-in simulator (`--simulate`) are marked, so a simulated
-- process never touches a record made against CometAPI and a real one never touches a
-- simulated record. Written in the SQL that SQLite and PostgreSQL both accept.
ALTER TABLE tasks ADD COLUMN simulated BIGINT NOT NULL DEFAULT 0;
-- Earlier simulators numbered their tasks 880000000000000001, 880000000000000002, … in every
-- process; real Kling ids are 18-19 digit numbers that do not start with twelve such digits.
UPDATE tasks SET simulated = 1 WHERE task_id LIKE '880000000000%' AND LENGTH(task_id) = 18;
