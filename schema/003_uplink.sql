-- The uplink to the city platform (docs/uplink.md): the outbox of messages to send, and the
-- commands received from the platform.
--
-- An alert is an outbox row written in the same transaction as the incident change it reports,
-- so it exists exactly when the change does, and is sent after the commit. seq is the
-- gateway's sequence number (AUTOINCREMENT: never reused, even after statistics are removed),
-- id a random UUID; both are in the payload too. delivered_at is set when the platform's
-- broker acknowledged the message (PUBACK).

CREATE TABLE outbox (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        id           TEXT NOT NULL UNIQUE,
        kind         TEXT NOT NULL CHECK (kind IN ('alert', 'stats', 'response')),
        -- Sending order: fire alarms and pre-alarms (0), other alerts and responses (1),
        -- statistics (2); seq within each.
        priority     INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 2),
        topic        TEXT NOT NULL, -- below firegate/v1/<gateway id>/: alert, stats, resp/<id>
        payload      TEXT NOT NULL,
        incident     INTEGER REFERENCES incident (id),
        created_at   INTEGER NOT NULL,
        delivered_at INTEGER
) STRICT;
CREATE INDEX outbox_pending ON outbox (priority, seq) WHERE delivered_at IS NULL;
CREATE INDEX outbox_by_incident ON outbox (incident) WHERE incident IS NOT NULL;

-- Alerts are kept: they are the evidence that the platform was told, and when.
CREATE TRIGGER outbox_alert_kept BEFORE DELETE ON outbox WHEN old.kind <> 'stats'
BEGIN
        SELECT RAISE(ABORT, 'alerts and responses are never removed from the outbox');
END;

-- Every command that arrived from the platform, acted on or refused, and why.
CREATE TABLE command (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         INTEGER NOT NULL, -- when it arrived, on the gateway's clock
        account    TEXT NOT NULL,    -- the topic's account level (the broker's ACL vouches)
        verb       TEXT NOT NULL,
        request_id TEXT,             -- NULL when the payload had no valid one
        sent_at    INTEGER,          -- the platform's "at"
        target     TEXT,
        operator   TEXT,
        result     TEXT NOT NULL CHECK (result IN ('ok', 'refused', 'error')),
        reason     TEXT NOT NULL,
        incident   INTEGER REFERENCES incident (id)
) STRICT;
CREATE INDEX command_by_request ON command (account, request_id);
CREATE INDEX command_by_time ON command (at);

CREATE TRIGGER command_append_only_update BEFORE UPDATE ON command
BEGIN
        SELECT RAISE(ABORT, 'command is append-only');
END;
CREATE TRIGGER command_append_only_delete BEFORE DELETE ON command
BEGIN
        SELECT RAISE(ABORT, 'command is append-only');
END;
