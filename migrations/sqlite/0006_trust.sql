-- Trust between tenants. Organization membership is an invitation the invitee accepts;
-- until then nothing of the organization routes their requests. Each member chooses
-- whether the organization's connections may serve their un-namespaced `provider/model`
-- requests, and whether its priorities (`prefer_score`) compete with their own
-- connections (otherwise their own come first).
ALTER TABLE memberships ADD COLUMN serve_unqualified BIGINT NOT NULL DEFAULT 1;
ALTER TABLE memberships ADD COLUMN trust_priorities BIGINT NOT NULL DEFAULT 0;

CREATE TABLE org_invitations (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- lower-cased; the invitee may not have an account yet
    email      TEXT NOT NULL,
    role       TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, email)
);
CREATE INDEX org_invitations_email ON org_invitations(email);

-- Connections may reach loopback, private, link-local and other non-public addresses only
-- when a platform admin allowed it, on the connection or on its provider.
ALTER TABLE connections ADD COLUMN allow_private BIGINT NOT NULL DEFAULT 0;
ALTER TABLE providers ADD COLUMN allow_private BIGINT NOT NULL DEFAULT 0;

-- Console sessions signed in before this moment (epoch ms) are no longer valid: a password
-- change ends every other session.
ALTER TABLE users ADD COLUMN sessions_valid_after BIGINT NOT NULL DEFAULT 0;
