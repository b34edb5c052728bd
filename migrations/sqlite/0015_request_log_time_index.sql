-- The last day of every connection (the console's per-connection figures) reads rows by
-- time alone, across users; so does retention's rolling up of old rows.
CREATE INDEX request_logs_time ON request_logs(created_at);
