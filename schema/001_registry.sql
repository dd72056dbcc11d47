-- The building registry: one building, its installer zones, units, residents and detectors.
--
-- Every record keeps the authority's revision, the SHA-256 of the signed message it arrived in
-- (to tell "the same record again" from "a different record with the same revision") and the
-- id of the key that verified it. verified = 0 marks a record an installer imported unsigned.
-- Citizen identity numbers are never stored: only a keyed hash and the last four digits.

CREATE TABLE building (
        location_id   TEXT PRIMARY KEY NOT NULL,
        name          TEXT NOT NULL,
        address       TEXT NOT NULL,
        floors_above  INTEGER NOT NULL CHECK (floors_above BETWEEN 1 AND 200),
        floors_below  INTEGER NOT NULL DEFAULT 0 CHECK (floors_below BETWEEN 0 AND 20),
        revision      INTEGER NOT NULL CHECK (revision >= 1),
        verified      INTEGER NOT NULL CHECK (verified IN (0, 1)),
        key_id        TEXT,
        demo_key      INTEGER NOT NULL DEFAULT 0 CHECK (demo_key IN (0, 1)),
        record_sha256 BLOB NOT NULL,
        imported_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE zone (
        zone_id       TEXT PRIMARY KEY NOT NULL,
        building      TEXT NOT NULL REFERENCES building (location_id),
        name          TEXT NOT NULL,
        revision      INTEGER NOT NULL CHECK (revision >= 1),
        verified      INTEGER NOT NULL CHECK (verified IN (0, 1)),
        key_id        TEXT,
        demo_key      INTEGER NOT NULL DEFAULT 0 CHECK (demo_key IN (0, 1)),
        record_sha256 BLOB NOT NULL,
        imported_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE unit (
        address_id    TEXT PRIMARY KEY NOT NULL,
        building      TEXT NOT NULL REFERENCES building (location_id),
        floor         INTEGER NOT NULL CHECK (floor <> 0),
        number        TEXT NOT NULL,
        revision      INTEGER NOT NULL CHECK (revision >= 1),
        verified      INTEGER NOT NULL CHECK (verified IN (0, 1)),
        key_id        TEXT,
        demo_key      INTEGER NOT NULL DEFAULT 0 CHECK (demo_key IN (0, 1)),
        record_sha256 BLOB NOT NULL,
        imported_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX unit_by_floor ON unit (floor, number);

CREATE TABLE resident (
        resident_id       TEXT PRIMARY KEY NOT NULL,
        unit              TEXT NOT NULL REFERENCES unit (address_id),
        citizen_hmac      BLOB NOT NULL CHECK (length(citizen_hmac) = 32),
        citizen_last4     TEXT NOT NULL CHECK (length(citizen_last4) = 4),
        name              TEXT,
        phone             TEXT,
        bedridden         INTEGER NOT NULL DEFAULT 0 CHECK (bedridden IN (0, 1)),
        mobility_impaired INTEGER NOT NULL DEFAULT 0 CHECK (mobility_impaired IN (0, 1)),
        elderly           INTEGER NOT NULL DEFAULT 0 CHECK (elderly IN (0, 1)),
        infant            INTEGER NOT NULL DEFAULT 0 CHECK (infant IN (0, 1)),
        needs_oxygen      INTEGER NOT NULL DEFAULT 0 CHECK (needs_oxygen IN (0, 1)),
        moved_out         INTEGER NOT NULL DEFAULT 0 CHECK (moved_out IN (0, 1)),
        revision          INTEGER NOT NULL CHECK (revision >= 1),
        verified          INTEGER NOT NULL CHECK (verified IN (0, 1)),
        key_id            TEXT,
        demo_key          INTEGER NOT NULL DEFAULT 0 CHECK (demo_key IN (0, 1)),
        record_sha256     BLOB NOT NULL,
        imported_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX resident_by_unit ON resident (unit);
CREATE INDEX resident_by_citizen ON resident (citizen_hmac);

CREATE TABLE detector (
        detector_id      TEXT PRIMARY KEY NOT NULL,
        building         TEXT NOT NULL REFERENCES building (location_id),
        kind             TEXT NOT NULL CHECK (kind IN ('smoke', 'heat', 'multi', 'call_point')),
        heat_class       TEXT,
        unit             TEXT REFERENCES unit (address_id),
        -- NULL for a detector in a unit: its floor is the unit's, so a unit's move carries its
        -- detectors along instead of leaving a stale copy.
        floor            INTEGER CHECK (floor IS NULL OR floor <> 0),
        zone             TEXT REFERENCES zone (zone_id),
        location         TEXT,
        source           TEXT NOT NULL CHECK (source IN ('mqtt', 'gpio')),
        bridge           TEXT CHECK (bridge IN ('zigbee2mqtt', 'tasmota', 'esphome', 'generic')),
        device           TEXT,
        gpio_chip        TEXT,
        gpio_line        INTEGER,
        gpio_active_low  INTEGER CHECK (gpio_active_low IN (0, 1)),
        gpio_bias        TEXT CHECK (gpio_bias IN ('as-is', 'pull-up', 'pull-down', 'disabled')),
        gpio_debounce_ms INTEGER,
        gpio_fault_line  INTEGER,
        report_period_s  INTEGER,
        revision         INTEGER NOT NULL CHECK (revision >= 1),
        verified         INTEGER NOT NULL CHECK (verified IN (0, 1)),
        key_id           TEXT,
        demo_key         INTEGER NOT NULL DEFAULT 0 CHECK (demo_key IN (0, 1)),
        record_sha256    BLOB NOT NULL,
        imported_at      INTEGER NOT NULL,
        CHECK ((source = 'mqtt' AND bridge IS NOT NULL AND device IS NOT NULL)
               OR (source = 'gpio' AND gpio_chip IS NOT NULL AND gpio_line IS NOT NULL)),
        CHECK ((kind = 'heat') = (heat_class IS NOT NULL) OR kind = 'multi'),
        CHECK (unit IS NOT NULL OR floor IS NOT NULL)
) STRICT;
CREATE INDEX detector_by_unit ON detector (unit);
CREATE INDEX detector_by_device ON detector (bridge, device);
-- Two detectors on one GPIO line are refused by the import's checks, not by a unique index:
-- an index is checked row by row and would refuse a bundle that swaps two detectors' lines.
CREATE INDEX detector_by_gpio ON detector (gpio_chip, gpio_line) WHERE source = 'gpio';

-- Facts about the store itself, such as the fingerprint of the identity secret that the
-- residents' keyed hashes were made with.
CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
) STRICT;

-- One row per import that changed or checked something: what file, when, what it did.
CREATE TABLE import_run (
        id           INTEGER PRIMARY KEY,
        at           INTEGER NOT NULL,
        file_sha256  BLOB NOT NULL,
        key_id       TEXT,
        demo_key     INTEGER NOT NULL CHECK (demo_key IN (0, 1)),
        inserted     INTEGER NOT NULL,
        updated      INTEGER NOT NULL,
        unchanged    INTEGER NOT NULL,
        skipped      INTEGER NOT NULL,
        unverified   INTEGER NOT NULL
) STRICT;
