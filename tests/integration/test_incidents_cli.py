#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`firegate incidents` through the real binary: its filters, time zones, JSON and RFC 4180 CSV.

Nothing writes incidents through the binary yet (the daemon does, later), so the test lets
`firegate import` create the store at the current schema and then writes incident rows with
Python's own sqlite3, as the incident module would have. Times are given to the binary in
several ISO 8601 forms and time zones (POSIX TZ strings, so no tzdata is needed), and the
listing must read the same instants back.
"""

import csv
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import unittest
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

OK, USAGE = 0, 2
ICT = {"TZ": "ICT-7"}  # Vietnam, UTC+7, no daylight saving
CET = {"TZ": "CET-1CEST,M3.5.0,M10.5.0/3"}  # Central Europe with its daylight saving
UTC = {"TZ": "UTC0"}


def ms(iso):
    """UTC milliseconds of an ISO time with an offset."""
    return int(datetime.fromisoformat(iso).astimezone(timezone.utc).timestamp() * 1000)


# id, kind, state, place, unit, floor, zone, detector, cause, fault, first, closed, acked by,
# and the detectors: (id, unit, floor, zone).
INCIDENTS = [
    (1, "alarm", "closed", "unit:U101", "U101", 1, None, "smoke-101-hall",
     'smoke, confirmed by "smoke-101-bed" in its unit', None,
     "2026-11-23T15:00:00+00:00", "2026-11-23T15:30:00+00:00", "desk",
     [("smoke-101-hall", "U101", 1, None), ("smoke-101-bed", "U101", 1, None)]),
    (2, "pre_alarm", "closed", "unit:U102", "U102", 1, None, "smoke-102-hall",
     "alarm verification", None,
     "2026-11-23T16:00:00+00:00", "2026-11-23T16:02:00+00:00", None,
     [("smoke-102-hall", "U102", 1, None)]),
    (3, "fault", "open", "zone:stair-a", None, 3, "stair-a", "smoke-stair-3",
     "not heard from\nfor 900 s", "silent",
     "2026-11-24T01:00:00+00:00", None, None,
     [("smoke-stair-3", None, 3, "stair-a")]),
    (4, "alarm", "acknowledged", "zone:stair-a", None, 2, "stair-a", "smoke-stair-2",
     "smoke", None,
     "2026-11-25T03:00:00+00:00", None, "brigade",
     [("smoke-stair-2", None, 2, "stair-a"), ("smoke-stair-5", None, 5, "stair-a")]),
    (5, "alarm", "closed", "unit:U103", "U103", 2, None, "heat-103-kitchen",
     "heat", None,
     "2026-07-01T12:00:00+00:00", "2026-07-01T12:10:00+00:00", None,
     [("heat-103-kitchen", "U103", 2, None)]),
]


def seed(db_path):
    db = sqlite3.connect(db_path)
    try:
        for (iid, kind, state, place, unit, floor, zone, det, cause, fault, first, closed,
             acked, dets) in INCIDENTS:
            first_ms = ms(first)
            closed_ms = ms(closed) if closed else None
            db.execute(
                "INSERT INTO incident (id, kind, state, place, unit, floor, zone, detector, "
                "cause, rule, flags, fault, first_at, alarm_at, last_at, closed_at, "
                "acknowledged_by, acknowledged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'units', "
                "?, ?, ?, ?, ?, ?, ?, ?)",
                (iid, kind, state, place, unit, floor, zone, det, cause,
                 "confirmed,priority_rescue" if iid == 1 else None, fault, first_ms,
                 first_ms + 25000 if kind == "alarm" else None,
                 closed_ms or first_ms + 60000, closed_ms, acked,
                 first_ms + 90000 if acked else None))
            for d_id, d_unit, d_floor, d_zone in dets:
                db.execute("INSERT INTO incident_detector (incident, detector, unit, floor, zone, "
                           "first_at) VALUES (?, ?, ?, ?, ?, ?)",
                           (iid, d_id, d_unit, d_floor, d_zone, first_ms))
                db.execute("INSERT INTO incident_event (incident, at, decision, detector, "
                           "place, cause, rule) VALUES (?, ?, ?, ?, ?, ?, 'units')",
                           (iid, first_ms, kind.replace("_", "-"), d_id, place, cause))
        db.commit()
    finally:
        db.close()


class IncidentsCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = fgtest.Gateway()
        cls.gw.firegate("import", cls.gw.bundle(floors=3, units_per_floor=2), check=OK)
        cls.db = cls.gw.state / "firegate.db"
        seed(cls.db)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()

    def ids(self, *args, env=ICT):
        out = self.gw.firegate("incidents", *args, "--json", env=env, check=OK).stdout
        return [row["id"] for row in json.loads(out)]

    def test_table_for_people_in_local_time(self):
        out = self.gw.firegate("incidents", env=ICT, check=OK).stdout
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["id", "kind", "state", "unit", "floor", "zone",
                                            "detector", "detectors", "first_at", "closed_at",
                                            "acknowledged_by", "fault", "cause"])
        self.assertEqual(len(lines), 1 + len(INCIDENTS) + 1)  # a cause holds a line break
        first = next(line for line in lines if line.lstrip().startswith("1 "))
        self.assertIn("2026-11-23T22:00:00+07:00", first)
        self.assertIn("2026-11-23T22:30:00+07:00", first)
        self.assertIn("desk", first)
        # Oldest first: the July incident leads.
        self.assertTrue(lines[1].lstrip().startswith("5 "), lines[1])

    def test_offsets_follow_daylight_saving(self):
        rows = json.loads(self.gw.firegate("incidents", "--json", env=CET,
                                                  check=OK).stdout)
        by_id = {r["id"]: r for r in rows}
        self.assertEqual(by_id[5]["first_at"], "2026-07-01T14:00:00.000+02:00")
        self.assertEqual(by_id[1]["first_at"], "2026-11-23T16:00:00.000+01:00")
        rows = json.loads(self.gw.firegate("incidents", "--json", env=UTC,
                                                  check=OK).stdout)
        self.assertEqual(rows[0]["first_at"], "2026-07-01T12:00:00.000+00:00")

    def test_time_range_with_offsets_and_local_times(self):
        # [from, to): began before to, still open at or closed after from.
        self.assertEqual(self.ids("--from", "2026-11-23T22:00:00+07:00",
                                  "--to", "2026-11-23T23:00:00+07:00"), [1])
        self.assertEqual(self.ids("--from", "2026-11-23T15:20:00Z"), [1, 2, 3, 4])
        self.assertEqual(self.ids("--from", "2026-11-23T15:31:00Z"), [2, 3, 4])
        self.assertEqual(self.ids("--from", "2026-11-23T22:20", "--to", "2026-11-24"), [1, 2, 3])
        self.assertEqual(self.ids("--from", "2026-11-24"), [3, 4])
        self.assertEqual(self.ids("--to", "2026-11-23T16:30"), [5])
        self.assertEqual(self.ids("--to", "2026-11-23T16:30", env=UTC), [5, 1, 2])
        self.assertEqual(self.ids("--from", "2026-11-23T22:00:00.500+07:00",
                                  "--to", "2026-11-23T23:00:00,000+0700"), [1])
        self.assertEqual(self.ids("--from", "2026-07-01 19:05+07", "--to", "2026-07-02"), [5])

    def test_filters(self):
        self.assertEqual(self.ids("--unit", "U101"), [1])
        self.assertEqual(self.ids("--floor", "1"), [1, 2])
        # A stairwell incident is found from every floor one of its detectors is on.
        self.assertEqual(self.ids("--floor", "5"), [4])
        self.assertEqual(self.ids("--floor", "3"), [3])
        self.assertEqual(self.ids("--kind", "fault"), [3])
        self.assertEqual(self.ids("--kind", "pre_alarm"), [2])
        self.assertEqual(self.ids("--state", "acknowledged"), [4])
        self.assertEqual(self.ids("--kind", "alarm", "--state", "closed"), [5, 1])
        self.assertEqual(self.ids("--unit", "U999"), [])

    def test_json_has_every_column_typed(self):
        rows = json.loads(self.gw.firegate("incidents", "--json", "--unit", "U101",
                                                  env=ICT, check=OK).stdout)
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual(list(row), [
            "id", "kind", "state", "unit", "floor", "zone", "place", "detector", "detectors",
            "cause", "rule", "flags", "fault", "first_at", "alarm_at", "last_at",
            "acknowledged_by", "acknowledged_at", "silenced_by", "silenced_at", "reset_by",
            "reset_at", "closed_at", "events"])
        self.assertEqual(row["floor"], 1)
        self.assertEqual(row["detectors"], 2)
        self.assertEqual(row["events"], 2)
        self.assertEqual(row["first_at"], "2026-11-23T22:00:00.000+07:00")
        self.assertEqual(row["alarm_at"], "2026-11-23T22:00:25.000+07:00")
        self.assertEqual(row["acknowledged_at"], "2026-11-23T22:01:30.000+07:00")
        self.assertEqual(row["flags"], "confirmed,priority_rescue")
        self.assertIsNone(row["zone"])
        self.assertIsNone(row["silenced_at"])

    def csv_bytes(self, *args):
        """The CSV as written, bytes and all: text mode would turn CRLF into LF."""
        env = {k: v for k, v in os.environ.items() if k != "FIREGATE_CONFIG"}
        done = subprocess.run([fgtest.BIN, "--config", str(self.gw.config), "incidents", "--csv",
                               *args], capture_output=True, env={**env, **ICT}, timeout=60)
        stderr = done.stderr.decode("utf-8", "backslashreplace")
        self.assertIsNone(fgtest.sanitizer_report(stderr, done.returncode), stderr)
        self.assertEqual(done.returncode, OK, stderr)
        return done.stdout.decode("utf-8")

    def test_csv_is_rfc_4180(self):
        data = self.csv_bytes()
        self.assertTrue(data.startswith("id,kind,state,unit,floor,zone,place,detector,"
                                        "detectors,cause,"))
        # Every record ends in CRLF; the only bare LF is the one inside a quoted field.
        self.assertTrue(data.endswith("\r\n"))
        self.assertEqual(data.replace("\r\n", "").count("\n"), 1)
        self.assertIn('"smoke, confirmed by ""smoke-101-bed"" in its unit"', data)
        self.assertIn('"not heard from\nfor 900 s"', data)
        rows = list(csv.DictReader(io.StringIO(data, newline="")))
        self.assertEqual(len(rows), len(INCIDENTS))
        as_json = json.loads(self.gw.firegate("incidents", "--json", env=ICT, check=OK).stdout)
        for got, want in zip(rows, as_json):
            self.assertEqual(got, {k: "" if v is None else str(v) for k, v in want.items()})

    def test_listing_reads_only(self):
        before = hashlib.sha256(self.db.read_bytes()).hexdigest()
        self.gw.firegate("incidents", "--csv", check=OK)
        self.gw.firegate("incidents", "--kind", "alarm", check=OK)
        self.assertEqual(hashlib.sha256(self.db.read_bytes()).hexdigest(), before)

    def test_empty_listing(self):
        out = self.gw.firegate("incidents", "--unit", "nobody", "--csv", check=OK).stdout
        self.assertEqual(out.splitlines(), ["id,kind,state,unit,floor,zone,place,detector,"
                                            "detectors,cause,rule,flags,fault,first_at,alarm_at,"
                                            "last_at,acknowledged_by,acknowledged_at,silenced_by,"
                                            "silenced_at,reset_by,reset_at,closed_at,events"])
        self.assertEqual(self.gw.firegate("incidents", "--unit", "nobody", "--json",
                                          check=OK).stdout, "[]\n")

    def test_usage_errors_say_why(self):
        for args, why in [
            (["--from", "yesterday"], "ISO 8601"),
            (["--from", "2026-02-30"], "ISO 8601"),
            (["--to", "2026-11-23T24:00"], "ISO 8601"),
            (["--to", "2026-11-23T22:00+07:"], "ISO 8601"),
            (["--to", "2026-11-23T22:00:00+07:00 "], "ISO 8601"),
            (["--kind", "fire"], "--kind must be"),
            (["--state", "done"], "--state must be"),
            (["--floor", "0"], "--floor expects"),
            (["--json", "--csv"], "not both"),
            (["--from", "2026-11-24", "--to", "2026-11-23"], "before --to"),
            (["extra"], "unexpected argument"),
        ]:
            done = self.gw.firegate("incidents", *args, check=USAGE)
            self.assertIn(why, done.stderr, args)

    def test_help(self):
        out = self.gw.firegate("incidents", "--help", check=OK).stdout
        self.assertIn("Usage: firegate [--config PATH] incidents", out)
        self.assertIn("--csv", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
