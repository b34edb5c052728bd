-- A collection's maximum price per request, in USD: members whose most this request can
-- cost (the budgets' bound: prompt bytes + max_tokens at the model's price) is above it,
-- or that have no price, are skipped. NULL: no maximum.
ALTER TABLE collections ADD COLUMN max_price_usd DOUBLE PRECISION;
