-- Model collections (named, ordered groups of model references with a routing strategy),
-- per-model prices for cost-optimized routing, and daily request quotas per connection.
CREATE TABLE collections (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    strategy      TEXT NOT NULL,
    -- 'user', 'organization' or 'system'
    owner_kind    TEXT NOT NULL,
    -- the user's or organization's id; 'platform' for system collections
    owner_id      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (owner_id, name)
);

CREATE TABLE collection_members (
    collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    model_ref     TEXT NOT NULL,
    -- relative weight for the random strategy; NULL means 1
    weight        DOUBLE PRECISION,
    PRIMARY KEY (collection_id, position)
);

-- USD per million tokens.
CREATE TABLE model_prices (
    provider_key  TEXT NOT NULL,
    model_id      TEXT NOT NULL,
    input_per_mtok  DOUBLE PRECISION NOT NULL,
    output_per_mtok DOUBLE PRECISION NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (provider_key, model_id)
);

ALTER TABLE connections ADD COLUMN rate_limit_rpd BIGINT;

-- auto(free): members are computed (free providers' models and zero-priced models).
INSERT INTO collections (id, name, description, strategy, owner_kind, owner_id, created_by, created_at, updated_at)
VALUES ('col-system-free', 'free', 'Models of free providers and models priced at zero', 'latency_optimized',
        'system', 'platform', 'system', 0, 0);

INSERT INTO model_prices (provider_key, model_id, input_per_mtok, output_per_mtok, updated_at) VALUES
    ('openai', 'gpt-4o', 2.5, 10.0, 0),
    ('openai', 'gpt-4o-mini', 0.15, 0.6, 0),
    ('openai', 'gpt-4.1', 2.0, 8.0, 0),
    ('openai', 'gpt-4.1-mini', 0.4, 1.6, 0),
    ('openai', 'gpt-4.1-nano', 0.1, 0.4, 0),
    ('openai', 'o3-mini', 1.1, 4.4, 0),
    ('anthropic', 'claude-3-5-sonnet-20241022', 3.0, 15.0, 0),
    ('anthropic', 'claude-3-5-haiku-20241022', 0.8, 4.0, 0),
    ('anthropic', 'claude-3-7-sonnet-20250219', 3.0, 15.0, 0),
    ('anthropic', 'claude-sonnet-4-20250514', 3.0, 15.0, 0),
    ('anthropic', 'claude-opus-4-20250514', 15.0, 75.0, 0),
    ('google', 'gemini-1.5-pro', 1.25, 5.0, 0),
    ('google', 'gemini-1.5-flash', 0.075, 0.3, 0),
    ('google', 'gemini-2.0-flash', 0.1, 0.4, 0),
    ('google', 'gemini-2.5-pro', 1.25, 10.0, 0),
    ('google', 'gemini-2.5-flash', 0.3, 2.5, 0),
    ('groq', 'llama-3.3-70b-versatile', 0.59, 0.79, 0),
    ('groq', 'llama-3.1-8b-instant', 0.05, 0.08, 0),
    ('mistral', 'mistral-large-latest', 2.0, 6.0, 0),
    ('mistral', 'mistral-small-latest', 0.1, 0.3, 0),
    ('deepseek', 'deepseek-chat', 0.27, 1.1, 0),
    ('deepseek', 'deepseek-reasoner', 0.55, 2.19, 0),
    ('xai', 'grok-3', 3.0, 15.0, 0),
    ('cohere', 'command-r-plus', 2.5, 10.0, 0),
    ('cohere', 'command-r', 0.15, 0.6, 0);
