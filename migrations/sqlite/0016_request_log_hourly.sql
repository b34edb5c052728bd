-- The dashboard's week and month read these instead of every request-log row: the log
-- writer adds each batch here in the same transaction as its rows. One row per UTC hour,
-- user, connection ('' when none was reached), requested model, key and collection ('' for
-- none), and per hour, user and connection a latency and a time-to-first-token histogram
-- (`metric` 0 and 1; `bin` as in `server/src/logs/histogram.rs`). `rollup_versions` says
-- which histogram bins the rows were counted with: a start with other bins rebuilds them.
CREATE TABLE request_log_hourly (
    hour              BIGINT NOT NULL,
    user_id           TEXT NOT NULL,
    connection_id     TEXT NOT NULL,
    model             TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    collection        TEXT NOT NULL,
    requests          BIGINT NOT NULL,
    errors            BIGINT NOT NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cost_usd          DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, hour, connection_id, model, key_id, collection)
);
CREATE INDEX request_log_hourly_connection ON request_log_hourly(connection_id, hour);
CREATE TABLE request_log_hourly_latency (
    hour          BIGINT NOT NULL,
    user_id       TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    metric        BIGINT NOT NULL,
    bin           BIGINT NOT NULL,
    requests      BIGINT NOT NULL,
    PRIMARY KEY (user_id, hour, connection_id, metric, bin)
);
CREATE INDEX request_log_hourly_latency_connection ON request_log_hourly_latency(connection_id, hour);
CREATE TABLE rollup_versions (
    name    TEXT PRIMARY KEY,
    version TEXT NOT NULL
);
