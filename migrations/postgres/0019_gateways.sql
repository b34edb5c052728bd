-- Self-hosted gateways (gateway type 3). A gateway belongs to a person or an organization;
-- its agents (`langmart gateway`) dial out to the server with its token, stored only as a
-- SHA-256 digest. Each upstream an agent announces is a connection of type 3, keyed by
-- (gateway_id, gateway_upstream); its credentials stay on the agent.
CREATE TABLE gateways (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    owner_user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    owner_org_id  TEXT REFERENCES organizations(id) ON DELETE CASCADE,
    token_digest  TEXT NOT NULL UNIQUE,
    token_hint    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX gateways_owner_user ON gateways(owner_user_id);
CREATE INDEX gateways_owner_org ON gateways(owner_org_id);

-- Agents connecting and disconnecting, for the console's timeline (pruned after 30 days).
CREATE TABLE gateway_events (
    id         TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    address    TEXT NOT NULL,
    version    TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX gateway_events_gateway_at ON gateway_events(gateway_id, at);

ALTER TABLE connections ADD COLUMN gateway_id TEXT REFERENCES gateways(id) ON DELETE CASCADE;
ALTER TABLE connections ADD COLUMN gateway_upstream TEXT;
CREATE UNIQUE INDEX connections_gateway_upstream ON connections(gateway_id, gateway_upstream);
