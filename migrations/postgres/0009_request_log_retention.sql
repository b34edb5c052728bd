-- What the request log keeps of rows pruned by retention (`--log-retention-days`): one
-- row per UTC day, user, connection and requested model, for usage charts.
CREATE TABLE request_log_daily (
    day               BIGINT NOT NULL,
    user_id           TEXT NOT NULL,
    connection_id     TEXT NOT NULL,
    model             TEXT NOT NULL,
    requests          BIGINT NOT NULL,
    errors            BIGINT NOT NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    PRIMARY KEY (day, user_id, connection_id, model)
);
