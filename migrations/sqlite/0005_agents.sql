-- What coding agents and agent SDKs need: the request log records every /v1 answer (its
-- endpoint is the path under /v1/), the client's user agent and prompt-cache usage; stored Responses API
-- answers; model aliases per user or organization.
ALTER TABLE request_logs ADD COLUMN user_agent TEXT;
ALTER TABLE request_logs ADD COLUMN cache_read_tokens BIGINT;
ALTER TABLE request_logs ADD COLUMN cache_write_tokens BIGINT;

-- Responses created with `store` (the API's default), kept for `previous_response_id`,
-- GET /v1/responses/{id} and its input items until `expires_at`.
CREATE TABLE stored_responses (
    id                   TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    previous_response_id TEXT,
    -- JSON array: this request's input items, each with an id
    input_items          TEXT NOT NULL,
    -- JSON: the response object as the client received it
    response             TEXT NOT NULL
);
CREATE INDEX stored_responses_user ON stored_responses(user_id, created_at);
CREATE INDEX stored_responses_expiry ON stored_responses(expires_at);

-- Every item of a stored response (input and output) by id, so `item_reference` inputs
-- (the AI SDK sends them for earlier turns) resolve.
CREATE TABLE stored_response_items (
    user_id     TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    response_id TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    item        TEXT NOT NULL,
    PRIMARY KEY (user_id, item_id)
);
CREATE INDEX stored_response_items_response ON stored_response_items(response_id);
CREATE INDEX stored_response_items_expiry ON stored_response_items(expires_at);

-- A name (exact, or a glob with `*`) that stands for a model reference, for agents that
-- ask for fixed model names.
CREATE TABLE model_aliases (
    id          TEXT PRIMARY KEY,
    -- 'user' or 'organization'
    owner_kind  TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    target      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (owner_id, name)
);
