-- The provider catalogue (admin-managed), connections with sealed credentials, their
-- models, test history and the audit log. Booleans are 0/1 BIGINT; JSON is TEXT.
CREATE TABLE providers (
    id                     TEXT PRIMARY KEY,
    key                    TEXT NOT NULL UNIQUE,
    name                   TEXT NOT NULL,
    api_family             TEXT NOT NULL,
    base_url               TEXT NOT NULL,
    credential_fields      TEXT NOT NULL,
    config_fields          TEXT NOT NULL,
    supports_model_listing BIGINT NOT NULL DEFAULT 1,
    free                   BIGINT NOT NULL DEFAULT 0,
    enabled                BIGINT NOT NULL DEFAULT 1,
    gateway_type           BIGINT NOT NULL DEFAULT 2,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);

CREATE TABLE connections (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    provider_id          TEXT NOT NULL REFERENCES providers(id),
    endpoint_url         TEXT NOT NULL,
    gateway_type         BIGINT NOT NULL,
    status               TEXT NOT NULL,
    scope                TEXT NOT NULL,
    owner_user_id        TEXT REFERENCES users(id) ON DELETE CASCADE,
    owner_org_id         TEXT REFERENCES organizations(id) ON DELETE CASCADE,
    rate_limit_rpm       BIGINT,
    rate_limit_tpm       BIGINT,
    prefer_score         BIGINT NOT NULL,
    allow_fallback       BIGINT NOT NULL,
    timeout_ms           BIGINT NOT NULL,
    max_retries          BIGINT NOT NULL,
    config               TEXT NOT NULL,
    credential_mask      TEXT NOT NULL,
    sealed_key_id        TEXT NOT NULL,
    sealed_nonce         TEXT NOT NULL,
    sealed_credentials   TEXT NOT NULL,
    last_health_check_at BIGINT,
    last_error           TEXT,
    cooldown_until       BIGINT,
    created_by           TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX connections_owner_user ON connections(owner_user_id);
CREATE INDEX connections_owner_org ON connections(owner_org_id);

CREATE TABLE connection_models (
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    model_id      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    source        TEXT NOT NULL,
    enabled       BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, model_id)
);

CREATE TABLE connection_tests (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    success       BIGINT NOT NULL,
    status        TEXT NOT NULL,
    http_status   BIGINT,
    latency_ms    BIGINT NOT NULL,
    model_count   BIGINT,
    error         TEXT,
    trigger_kind  TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX connection_tests_conn ON connection_tests(connection_id, created_at);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    actor_user_id TEXT,
    action        TEXT NOT NULL,
    target_kind   TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    detail        TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log(target_kind, target_id, created_at);
