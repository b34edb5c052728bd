-- API keys carry scopes (space-separated: `inference` calls /v1, `manage` calls /api),
-- may expire, and remember the key they were made with: a key made with a key has at
-- most its parent's scopes and lifetime, and is revoked with it.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'inference manage';
ALTER TABLE api_keys ADD COLUMN parent_key_id TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
CREATE INDEX api_keys_parent ON api_keys(parent_key_id);
