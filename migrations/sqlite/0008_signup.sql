-- Who may create an account. Under the `invite` policy a visitor needs a single-use
-- invite link made by a platform admin (only its SHA-256 digest is kept). On a fresh
-- install the first account needs a one-time setup token printed in the server log
-- (digests here, one per start until the first account exists).
CREATE TABLE signup_invites (
    id         TEXT PRIMARY KEY,
    digest     TEXT NOT NULL UNIQUE,
    note       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    used_by    TEXT
);

CREATE TABLE setup_tokens (
    digest     TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
