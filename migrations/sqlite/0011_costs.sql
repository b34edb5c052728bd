-- Cost on every request-log row. Prices gain the prompt-cache rates (NULL: the input
-- price); a row's `cost_usd` is its usage at the model's price when the call was made,
-- and `cost_basis` says where the usage came from: `reported` (the provider's usage),
-- `estimated` (counted from what was streamed: a cancelled or broken stream without the
-- provider's usage) or `unpriced` (no price for the model: `cost_usd` is NULL).
ALTER TABLE model_prices ADD COLUMN cached_input_per_mtok DOUBLE PRECISION;
ALTER TABLE model_prices ADD COLUMN cache_write_per_mtok DOUBLE PRECISION;
ALTER TABLE request_logs ADD COLUMN cost_usd DOUBLE PRECISION;
ALTER TABLE request_logs ADD COLUMN cost_basis TEXT;

-- Published cache rates of the seeded models (USD per million tokens).
UPDATE model_prices SET cached_input_per_mtok = input_per_mtok / 2
    WHERE provider_key = 'openai' AND model_id IN ('gpt-4o', 'gpt-4o-mini', 'o3-mini');
UPDATE model_prices SET cached_input_per_mtok = input_per_mtok / 4
    WHERE provider_key = 'openai' AND model_id IN ('gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano');
UPDATE model_prices SET cached_input_per_mtok = input_per_mtok / 10,
                        cache_write_per_mtok = input_per_mtok * 1.25
    WHERE provider_key = 'anthropic';
UPDATE model_prices SET cached_input_per_mtok = input_per_mtok / 4
    WHERE provider_key = 'google' AND model_id IN ('gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.0-flash');
UPDATE model_prices SET cached_input_per_mtok = 0.07 WHERE provider_key = 'deepseek' AND model_id = 'deepseek-chat';
UPDATE model_prices SET cached_input_per_mtok = 0.14 WHERE provider_key = 'deepseek' AND model_id = 'deepseek-reasoner';

-- Spend survives retention: pruned rows leave their cost per day in the daily totals, and
-- per day and key in `key_spend_daily` (what key budgets are counted from after a restart).
ALTER TABLE request_log_daily ADD COLUMN cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
CREATE TABLE key_spend_daily (
    day      BIGINT NOT NULL,
    key_id   TEXT NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, key_id)
);
