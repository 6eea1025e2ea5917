-- Applications received that were filed online (every channel but the counter), beside all
-- received: the share the national digital-transformation index reports. The counters are
-- built again from the applications at the next start (`monitoring.built` forgotten), so
-- the figure holds for the past too.
ALTER TABLE monitor_flows ADD COLUMN received_online BIGINT NOT NULL DEFAULT 0;
DELETE FROM settings WHERE key = 'monitoring.built';
