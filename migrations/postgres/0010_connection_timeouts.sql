-- Timeouts that fit streaming, per connection (NULL: the default). `timeout_ms` stays the
-- time a whole answer, or a stream's start, may take.
ALTER TABLE connections ADD COLUMN connect_timeout_ms BIGINT;
ALTER TABLE connections ADD COLUMN idle_timeout_ms BIGINT;
ALTER TABLE connections ADD COLUMN max_duration_ms BIGINT;
