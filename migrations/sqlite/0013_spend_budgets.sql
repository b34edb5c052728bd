-- Budgets for people and organizations (key budgets live on `api_keys`). `scope`:
-- `user` (owner_id: a user; every request of theirs; set by platform admins),
-- `organization` (owner_id: an organization; requests served by its connections) and
-- `member` (owner_id: an organization; each member's requests served by its connections),
-- both set by the organization's admins.
CREATE TABLE spend_budgets (
    scope      TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    usd        DOUBLE PRECISION NOT NULL,
    period     TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (scope, owner_id)
);
