-- The incident log: what the rules engine decided, grouped into incidents, kept as evidence.
--
-- incident_event and engine_event are the record: one row per engine decision (per incident it
-- touched), appended in the order the engine decided and never changed or removed (triggers
-- below). incident and incident_detector are the current summary of those events, updated as
-- decisions arrive, so listings and a restart need not replay the events; they are never
-- deleted either. gateway/incident.c is the only writer; docs/incidents.md says how decisions
-- become rows.
--
-- Every time is UTC in milliseconds since 1970 (the gateway's real-time clock when the decision
-- was recorded); listings convert to local time. Units and detectors are not foreign keys into
-- the registry on purpose: an alarm from a unit or detector the registry lacks is still an
-- incident (life safety first), and the log must outlive changes to the registry.

CREATE TABLE incident (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        kind            TEXT NOT NULL CHECK (kind IN ('alarm', 'pre_alarm', 'fault')),
        state           TEXT NOT NULL
                        CHECK (state IN ('open', 'acknowledged', 'silenced', 'closed')),
        -- The engine's zone the incident is grouped by: "unit:ID" for a detector in a unit, else
        -- the detector's "zone:ID", "floor:N" or "building". At most one alarm or pre-alarm
        -- incident is open per place (index below).
        place           TEXT NOT NULL,
        unit            TEXT,
        floor           INTEGER,
        zone            TEXT, -- installer zone id, without the "zone:" prefix
        detector        TEXT, -- the first detector; NULL only for a fault of no detector
        cause           TEXT NOT NULL,
        rule            TEXT NOT NULL,
        flags           TEXT, -- the engine's flag names seen on it, comma-separated; NULL: none
        fault           TEXT, -- faults: silent, offline, battery_low, tamper, device, ...
        first_at        INTEGER NOT NULL, -- first detection (a pre-alarm's start, if it had one)
        alarm_at        INTEGER,          -- when it became an alarm; NULL while not one
        last_at         INTEGER NOT NULL, -- the latest event recorded on it
        closed_at       INTEGER,
        acknowledged_by TEXT,             -- the first acknowledgement
        acknowledged_at INTEGER,
        silenced_by     TEXT,             -- the first silence
        silenced_at     INTEGER,
        reset_by        TEXT,             -- the latest reset that touched it
        reset_at        INTEGER,
        CHECK ((kind = 'fault') = (fault IS NOT NULL)),
        CHECK ((state = 'closed') = (closed_at IS NOT NULL))
) STRICT;
CREATE INDEX incident_by_time ON incident (first_at);
CREATE UNIQUE INDEX incident_open_fire ON incident (place)
        WHERE kind IN ('alarm', 'pre_alarm') AND state <> 'closed';
CREATE UNIQUE INDEX incident_open_fault ON incident (coalesce(detector, place), fault)
        WHERE kind = 'fault' AND state <> 'closed';

-- The detectors of an incident, with where each is (so a command on "floor:3" or
-- "zone:stair-a" finds the incidents it covers, as the engine finds the detectors) and its part
-- in the incident now: alarm_at is set while it is in alarm (NULL while only in pre-alarm or
-- fault), acknowledged_at and silenced_at while that alarm is acknowledged or silenced, ended_at
-- once its part ended (pre-alarm restored, reset, fault restored). A detector that signals
-- again while the incident is still open rejoins it and these start afresh; first_at stays.
CREATE TABLE incident_detector (
        incident        INTEGER NOT NULL REFERENCES incident (id),
        detector        TEXT NOT NULL,
        unit            TEXT,
        floor           INTEGER,
        zone            TEXT,
        first_at        INTEGER NOT NULL,
        alarm_at        INTEGER,
        acknowledged_at INTEGER,
        silenced_at     INTEGER,
        ended_at        INTEGER,
        PRIMARY KEY (incident, detector)
) STRICT;
CREATE INDEX incident_detector_by_detector ON incident_detector (detector, incident);

-- Every decision that touched an incident, in the engine's order (id). A zone-wide decision
-- that touched several incidents has one row on each. place is the zone the decision named
-- ("floor:1" for an acknowledgement of floor 1; the detector's own zone for its decisions).
CREATE TABLE incident_event (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        incident INTEGER NOT NULL REFERENCES incident (id),
        at       INTEGER NOT NULL,
        decision TEXT NOT NULL, -- the engine's name: alarm, pre-alarm, fault, restore, ...
        detector TEXT,
        place    TEXT,
        cause    TEXT,
        rule     TEXT,
        flags    TEXT,
        fault    TEXT,
        who      TEXT,
        output   TEXT
) STRICT;
CREATE INDEX incident_event_by_incident ON incident_event (incident, id);

-- Decisions that belong to no incident: tests and walk tests, disabling and enabling, and any
-- decision that found no incident to touch (a reset of a quiet floor, a sounder switched off
-- after the reset closed its incident). Nothing the engine decides is dropped.
CREATE TABLE engine_event (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        at       INTEGER NOT NULL,
        decision TEXT NOT NULL,
        detector TEXT,
        unit     TEXT,
        floor    INTEGER,
        place    TEXT,
        cause    TEXT,
        rule     TEXT,
        flags    TEXT,
        fault    TEXT,
        who      TEXT,
        output   TEXT
) STRICT;
CREATE INDEX engine_event_by_time ON engine_event (at);
CREATE INDEX engine_event_by_detector ON engine_event (detector, at);

-- The record is append-only: SQLite refuses to change or remove an event, and to remove an
-- incident or one of its detectors. (Someone with the file can drop a trigger; the hash chain
-- of the evidence work is what shows that.)
CREATE TRIGGER incident_event_append_only_update BEFORE UPDATE ON incident_event
BEGIN
        SELECT RAISE(ABORT, 'incident_event is append-only');
END;
CREATE TRIGGER incident_event_append_only_delete BEFORE DELETE ON incident_event
BEGIN
        SELECT RAISE(ABORT, 'incident_event is append-only');
END;
CREATE TRIGGER engine_event_append_only_update BEFORE UPDATE ON engine_event
BEGIN
        SELECT RAISE(ABORT, 'engine_event is append-only');
END;
CREATE TRIGGER engine_event_append_only_delete BEFORE DELETE ON engine_event
BEGIN
        SELECT RAISE(ABORT, 'engine_event is append-only');
END;
CREATE TRIGGER incident_kept BEFORE DELETE ON incident
BEGIN
        SELECT RAISE(ABORT, 'incidents are never deleted');
END;
CREATE TRIGGER incident_detector_kept BEFORE DELETE ON incident_detector
BEGIN
        SELECT RAISE(ABORT, 'incidents are never deleted');
END;
