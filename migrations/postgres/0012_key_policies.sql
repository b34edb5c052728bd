-- What a key may call and how fast. `models`: a JSON array of model references it may
-- call (`*` matches any run of characters); NULL: everything its owner may use.
-- `rate_limit_rpm` / `rate_limit_tpm`: the key's own per-minute limits; NULL: none.
ALTER TABLE api_keys ADD COLUMN models TEXT;
ALTER TABLE api_keys ADD COLUMN rate_limit_rpm BIGINT;
ALTER TABLE api_keys ADD COLUMN rate_limit_tpm BIGINT;
