-- One row per inference call, written in batches by a background task.
CREATE TABLE request_logs (
    id                TEXT PRIMARY KEY,
    request_id        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    user_id           TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    endpoint          TEXT NOT NULL,
    requested_model   TEXT NOT NULL,
    resolution        TEXT NOT NULL,
    collection        TEXT,
    connection_id     TEXT,
    provider          TEXT,
    upstream_model    TEXT,
    status_code       BIGINT NOT NULL,
    error_code        TEXT,
    latency_ms        BIGINT NOT NULL,
    ttft_ms           BIGINT,
    prompt_tokens     BIGINT,
    completion_tokens BIGINT,
    stream            BIGINT NOT NULL,
    attempts          TEXT NOT NULL
);
CREATE INDEX request_logs_user_time ON request_logs(user_id, created_at);
