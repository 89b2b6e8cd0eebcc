-- Version 3: what became of each MCP task (`tasks/get`, `tasks/cancel`) per owner and task id,
-- so every instance and a restarted process answer alike: how it ended (once set, never
-- changed) and who is saving its videos (a claim that lapses unless renewed, so a crashed
-- downloader blocks nobody for long). Written in the SQL that SQLite and PostgreSQL both accept.
CREATE TABLE mcp_tasks (
    owner TEXT NOT NULL,
    task_id TEXT NOT NULL,
    simulated BIGINT NOT NULL,
    outcome TEXT,
    detail TEXT,
    ended_at_ms BIGINT,
    download_holder TEXT,
    download_until_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (owner, task_id)
);
CREATE INDEX mcp_tasks_by_age ON mcp_tasks (updated_at_ms);
