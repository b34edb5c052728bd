-- Body capture, off by default: a person who turns it on keeps the request and response
-- bodies of their calls for `retention_days` (1 to 30), readable only by them, in the
-- request log's detail. `request_bodies` holds them, each row until `keep_until`.
CREATE TABLE body_capture (
    user_id        TEXT PRIMARY KEY,
    retention_days BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE TABLE request_bodies (
    log_id     TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    keep_until BIGINT NOT NULL,
    request    TEXT NOT NULL,
    response   TEXT NOT NULL
);
CREATE INDEX request_bodies_keep_until ON request_bodies(keep_until);
