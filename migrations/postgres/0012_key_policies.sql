-- What a key may call and how fast. `models`: a JSON array of model references it may
-- call (`*` matches any run of characters); NULL: everything its owner may use.
-- `rate_limit_rpm` / `rate_limit_tpm`: the key's own per-minute limits; NULL: none.
ALTER TABLE api_keys ADD COLUMN models TEXT;
ALTER TABLE api_keys ADD COLUMN rate_limit_rpm BIGINT;
ALTER TABLE api_keys ADD COLUMN rate_limit_tpm BIGINT;
-- A spend budget of the key's own: `budget_usd` per `budget_period` (day, week, month:
-- UTC calendar periods; total: for the key's whole life). NULL: none.
ALTER TABLE api_keys ADD COLUMN budget_usd DOUBLE PRECISION;
ALTER TABLE api_keys ADD COLUMN budget_period TEXT;
-- The keys this one was made with (at any depth) that have budgets, as a JSON array of
-- ids: its spend counts against each of their budgets too.
ALTER TABLE api_keys ADD COLUMN budget_chain TEXT;
-- Output tokens reserved against budgets for a request of the key that sets no maximum
-- (NULL: 4,096).
ALTER TABLE api_keys ADD COLUMN default_max_tokens BIGINT;
