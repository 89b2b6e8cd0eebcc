-- Version 1: the tasks a server submitted, and the shared poll state of followed tasks.
-- Written in the SQL that SQLite and PostgreSQL both accept.
CREATE TABLE tasks (
    external_task_id TEXT PRIMARY KEY,
    task_id TEXT UNIQUE,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    status_rank BIGINT NOT NULL,
    message TEXT,
    mode TEXT NOT NULL,
    prompt_head TEXT NOT NULL,
    model TEXT NOT NULL,
    duration BIGINT,
    aspect_ratio TEXT,
    video_urls TEXT NOT NULL,
    local_files TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX tasks_by_owner ON tasks (owner, created_at_ms DESC);
CREATE INDEX tasks_by_owner_status ON tasks (owner, status, created_at_ms DESC);
CREATE TABLE polls (
    task_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    next_poll_at_ms BIGINT NOT NULL,
    poll_count BIGINT NOT NULL,
    snapshot TEXT,
    snapshot_at_ms BIGINT NOT NULL,
    PRIMARY KEY (task_id, owner)
);
