-- A connection's last day (the console's per-connection figures) reads its rows by
-- connection and time, across users.
CREATE INDEX request_logs_connection_time ON request_logs(connection_id, created_at);
