-- What the console's notifications panel shows: a connection failing its checks (or being
-- rate-limited) and recovering, one row per person who should hear of it (the owner; an
-- organization's admins; the platform's admins for platform connections).
CREATE TABLE notifications (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    detail        TEXT,
    created_at    BIGINT NOT NULL,
    read_at       BIGINT
);
CREATE INDEX notifications_user_time ON notifications(user_id, created_at);
-- A person's webhook: each of their notifications is also POSTed there as JSON, through
-- the outbound policy.
CREATE TABLE notification_webhooks (
    user_id    TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
