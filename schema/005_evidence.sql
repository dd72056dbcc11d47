-- The incident log as evidence (docs/evidence.md): a hash chain over every row of the record,
-- and an audit of who looked at it.
--
-- chain has one entry per row of incident_event, engine_event, command and audit, in the order
-- they were written: the SHA-256 of the row's content, and the SHA-256 of the previous entry's
-- hash followed by that content. The entries are written by triggers that the gateway creates
-- on its own connections (TEMP triggers, gateway/chain.c), so a row written by anything else
-- (the sqlite3 shell) has no entry, and `firegate verify-log` names it. The head, the last
-- entry's hash, goes upstream in every statistics message, so a rewritten chain is caught
-- against the heads the platform keeps.

CREATE TABLE chain (
        seq     INTEGER PRIMARY KEY,
        tbl     TEXT NOT NULL CHECK (tbl IN ('incident_event', 'engine_event', 'command', 'audit')),
        row_id  INTEGER NOT NULL,
        content BLOB NOT NULL CHECK (length(content) = 32),
        hash    BLOB NOT NULL CHECK (length(hash) = 32),
        UNIQUE (tbl, row_id)
) STRICT;

CREATE TRIGGER chain_append_only_update BEFORE UPDATE ON chain
BEGIN
        SELECT RAISE(ABORT, 'chain is append-only');
END;
CREATE TRIGGER chain_append_only_delete BEFORE DELETE ON chain
BEGIN
        SELECT RAISE(ABORT, 'chain is append-only');
END;

-- Every look at the log, local or from the platform: who, when, what they asked, what they got.
CREATE TABLE audit (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        at     INTEGER NOT NULL,
        who    TEXT NOT NULL, -- "uid 1000 (alice)", "platform:<account> (<operator>)"
        origin TEXT NOT NULL CHECK (origin IN ('local', 'platform', 'desk')),
        action TEXT NOT NULL, -- incidents, incident-show, report, export, query, verify-log
        params TEXT NOT NULL, -- the filters, as JSON
        result TEXT           -- how many rows, or why it failed
) STRICT;
CREATE INDEX audit_by_time ON audit (at);

CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN
        SELECT RAISE(ABORT, 'audit is append-only');
END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN
        SELECT RAISE(ABORT, 'audit is append-only');
END;
