#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`firegate incidents` and `firegate incident show` through the real binary: every filter,
time zones, JSON and RFC 4180 CSV, and one incident's timeline with its deliveries upstream and
the platform's commands.

The test lets `firegate import` create the store at the current schema and then writes incident
rows with Python's own sqlite3, shaped as the incident module writes them (gateway/incident.c,
docs/incidents.md). Besides five hand-made incidents, a generated month of more than 10,000
incidents is queried with every filter, and each answer is compared with the ids the test
computes itself from the rows it generated. Times are given in several ISO 8601 forms and time
zones (POSIX TZ strings, and IANA names with --tz), and the listing must read the same instants
back.
"""

import csv
import hashlib
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import unittest
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

OK, FAILURE, USAGE, REFUSED = 0, 1, 2, 3
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


def record_tables(db):
    """Every row of the incident log's tables, but the audit of looks and its chain entries."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("incident", "incident_detector", "incident_event", "engine_event",
                          "outbox", "command")}
    finally:
        con.close()


def audit_rows(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT origin, action, params FROM audit ORDER BY id").fetchall()
    finally:
        con.close()


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
            "reset_at", "closed_at", "false_alarm_by", "false_alarm_at", "events"])
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

    def test_listing_reads_only_and_is_audited(self):
        before = record_tables(self.db)
        audited = audit_rows(self.db)
        self.gw.firegate("incidents", "--csv", check=OK)
        self.gw.firegate("incidents", "--kind", "alarm", check=OK)
        self.assertEqual(record_tables(self.db), before)
        # Each look is in the audit log, with its command line (no daemon runs: written by the
        # command itself).
        self.assertEqual(audit_rows(self.db)[len(audited):],
                         [("local", "incidents", '["--csv"]'),
                          ("local", "incidents", '["--kind","alarm"]')])

    def test_empty_listing(self):
        out = self.gw.firegate("incidents", "--unit", "nobody", "--csv", check=OK).stdout
        self.assertEqual(out.splitlines(), ["id,kind,state,unit,floor,zone,place,detector,"
                                            "detectors,cause,rule,flags,fault,first_at,alarm_at,"
                                            "last_at,acknowledged_by,acknowledged_at,silenced_by,"
                                            "silenced_at,reset_by,reset_at,closed_at,"
                                            "false_alarm_by,false_alarm_at,events"])
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
        for option in ("--csv", "--detector", "--cause", "--tz"):
            self.assertIn(option, out)


# --- a generated month ---------------------------------------------------------------------

MINUTE, HOUR, DAY = 60000, 3600000, 86400000

ALARM_CAUSES = ("smoke persisted through verification (25 s)",
                "Smoke confirmed by a second detector in its unit",
                "heat above 57 °C (class A1)", "Heat rising 12 K/min (rate of rise)",
                "manual call point pressed")
PRE_ALARM_CAUSES = ("alarm verification: smoke seen, waiting 25 s",
                    "Positive alarm sequence: smoke seen, 15 s to acknowledge")
FAULT_CAUSES = {"silent": "not heard from for 900 s", "offline": "the bridge says OFFLINE",
                "battery_low": "Battery low (9 %)", "tamper": "tamper switch open",
                "device": "the device reports a fault", "invalid_data": "invalid data persisted"}
DESK = "uid 1001 (desk)"
PLATFORM = "platform:city-ops (duty officer 4)"


def registry_detectors(db_path):
    """The registry's detectors with where each is: (id, unit, floor, installer zone)."""
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT d.detector_id, d.unit, coalesce(d.floor, u.floor), d.zone "
                          "FROM detector d LEFT JOIN unit u ON u.address_id = d.unit "
                          "ORDER BY d.detector_id").fetchall()
    finally:
        db.close()


def generate(detectors, start_ms, end_ms, count, seed=7, first_id=1, open_last=40):
    """@count incidents beginning in [start_ms, end_ms), as incident.c would have left them.

    Each is a dict of the incident's columns, with "dets" (its incident_detector rows) and
    "events" (its incident_event rows). Alarms have one to three detectors of one place (a unit,
    or a stairwell that spreads over floors), some promoted from a pre-alarm, most acknowledged,
    some silenced, then reset; pre-alarms end with a restore; faults are one detector's, closed
    by a restore. About half of the last @open_last incidents are still open, one per place (or
    detector and fault kind) as the schema wants.
    """
    rng = random.Random(seed)
    by_place = {}
    for det in detectors:
        det_id, unit, floor, zone = det
        place = f"unit:{unit}" if unit else f"zone:{zone}" if zone else f"floor:{floor}"
        by_place.setdefault(place, []).append(det)
    places = sorted(by_place)
    open_fire, open_fault = set(), set()
    incidents = []
    for n in range(count):
        iid = first_id + n
        first = start_ms + rng.randrange(end_ms - start_ms)
        roll = rng.random()
        kind = "alarm" if roll < 0.3 else "pre_alarm" if roll < 0.55 else "fault"
        place = rng.choice(places)
        if kind == "fault":
            dets = [rng.choice(by_place[place])]
        else:
            dets = rng.sample(by_place[place], min(len(by_place[place]), rng.randint(1, 3)))
        still_open = n >= count - open_last and rng.random() < 0.5
        fault = rng.choice(sorted(FAULT_CAUSES)) if kind == "fault" else None
        if still_open and kind != "fault" and place in open_fire:
            still_open = False
        if still_open and kind == "fault" and (dets[0][0], fault) in open_fault:
            still_open = False
        flags = rng.choice([None, None, None, "priority_rescue,verification_skipped",
                            "unverified", "reestablished"]) if kind != "fault" else None
        inc = {"id": iid, "kind": kind, "state": "closed", "place": place,
               "unit": dets[0][1], "floor": dets[0][2], "zone": dets[0][3],
               "detector": dets[0][0], "rule": "units" if kind != "fault" else "supervision",
               "flags": flags, "fault": fault, "first_at": first, "alarm_at": None,
               "acknowledged_by": None, "acknowledged_at": None, "silenced_by": None,
               "silenced_at": None, "reset_by": None, "reset_at": None, "closed_at": None,
               "dets": [], "events": []}
        ev = inc["events"]
        if kind == "alarm":
            promoted = rng.random() < 0.3
            inc["alarm_at"] = first + (rng.randrange(20000, 90000) if promoted else 0)
            inc["cause"] = rng.choice(ALARM_CAUSES)
            if promoted:
                ev.append((first, "pre-alarm", dets[0][0], place, PRE_ALARM_CAUSES[0],
                           "units", None, None, None, None))
            t = inc["alarm_at"]
            for k, det in enumerate(dets):
                ev.append((t + k * 5000, "alarm", det[0], place, inc["cause"], "units", flags,
                           None, None, None))
            ev.append((t + 1000, "output-on", None, place, "output on", "built-in", None, None,
                       None, "building-sounder"))
            t += len(dets) * 5000
            if rng.random() < 0.8:
                t += rng.randrange(5000, 900000)
                who = rng.choice((DESK, PLATFORM))
                inc["acknowledged_by"], inc["acknowledged_at"] = who, t
                ev.append((t, "acknowledged", None, place, "acknowledged", "built-in", None,
                           None, who, None))
                if rng.random() < 0.5:
                    t += rng.randrange(1000, 60000)
                    inc["silenced_by"], inc["silenced_at"] = who, t
                    ev.append((t, "silenced", None, place, "silenced", "built-in", None, None,
                               who, None))
            if still_open:
                inc["state"] = ("silenced" if inc["silenced_at"] else "acknowledged"
                                if inc["acknowledged_at"] else "open")
            else:
                t += rng.randrange(MINUTE, 6 * HOUR)
                who = rng.choice((DESK, PLATFORM))
                inc["reset_by"], inc["reset_at"], inc["closed_at"] = who, t, t
                ev.append((t, "reset", None, place, "reset", "built-in", None, None, who, None))
                ev.append((t, "output-off", None, place, "output off", "built-in", None, None,
                           None, "building-sounder"))
        elif kind == "pre_alarm":
            inc["cause"] = rng.choice(PRE_ALARM_CAUSES)
            for det in dets:
                ev.append((first, "pre-alarm", det[0], place, inc["cause"], "units", flags, None,
                           None, None))
            if still_open:
                inc["state"] = "open"
            else:
                t = first + rng.randrange(5000, 60000)
                inc["closed_at"] = t
                for det in dets:
                    ev.append((t, "restore", det[0], place, "smoke cleared", "units", None, None,
                               None, None))
        else:
            inc["cause"] = FAULT_CAUSES[fault]
            ev.append((first, "fault", dets[0][0], place, inc["cause"], "supervision", None,
                       fault, None, None))
            if still_open:
                inc["state"] = "open"
            else:
                t = first + rng.randrange(MINUTE, 3 * DAY)
                inc["closed_at"] = t
                ev.append((t, "restore", dets[0][0], place, "fault cleared", "supervision", None,
                           fault, None, None))
        if inc["state"] != "closed":
            (open_fault.add((dets[0][0], fault)) if kind == "fault" else open_fire.add(place))
        inc["last_at"] = max(e[0] for e in ev)
        for det in dets:
            alarm_at = inc["alarm_at"] if kind == "alarm" else None
            inc["dets"].append((iid, det[0], det[1], det[2], det[3], first, alarm_at,
                                inc["acknowledged_at"] if alarm_at else None,
                                inc["silenced_at"] if alarm_at else None, inc["closed_at"]))
        incidents.append(inc)
    return incidents


INCIDENT_COLUMNS = ("id", "kind", "state", "place", "unit", "floor", "zone", "detector", "cause",
                    "rule", "flags", "fault", "first_at", "alarm_at", "last_at", "closed_at",
                    "acknowledged_by", "acknowledged_at", "silenced_by", "silenced_at",
                    "reset_by", "reset_at")


def write(db_path, incidents):
    """Writes the generated incidents in one transaction."""
    db = sqlite3.connect(db_path)
    try:
        with db:
            db.executemany(f"INSERT INTO incident ({', '.join(INCIDENT_COLUMNS)}) VALUES "
                           f"({', '.join('?' * len(INCIDENT_COLUMNS))})",
                           ([inc[c] for c in INCIDENT_COLUMNS] for inc in incidents))
            db.executemany("INSERT INTO incident_detector (incident, detector, unit, floor, zone, "
                           "first_at, alarm_at, acknowledged_at, silenced_at, ended_at) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (d for inc in incidents for d in inc["dets"]))
            db.executemany("INSERT INTO incident_event (incident, at, decision, detector, place, "
                           "cause, rule, flags, fault, who, output) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           ((inc["id"], *e) for inc in sorted(
                               incidents, key=lambda i: i["first_at"]) for e in inc["events"]))
    finally:
        db.close()


def in_range(inc, from_ms, to_ms):
    """[from, to): began before to, and still open at from or closed at or after it."""
    return inc["first_at"] < to_ms and (inc["closed_at"] is None or inc["closed_at"] >= from_ms)


def local_ms(text, zone):
    """UTC ms of a local time without offset in an IANA zone (Python's own reading)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)


class MonthOfIncidents(unittest.TestCase):
    """More than 10,000 incidents in November 2026 (Asia/Ho_Chi_Minh), every filter."""

    ZONE = "Asia/Ho_Chi_Minh"

    @classmethod
    def setUpClass(cls):
        cls.gw = fgtest.Gateway()
        cls.gw.firegate("import", cls.gw.bundle(floors=6, units_per_floor=4, basement=0),
                        check=OK)
        cls.db = cls.gw.state / "firegate.db"
        cls.detectors = registry_detectors(cls.db)
        start = ms("2026-10-24T00:00:00+00:00")
        end = ms("2026-12-04T00:00:00+00:00")
        cls.incidents = generate(cls.detectors, start, end, 14500)
        write(cls.db, cls.incidents)
        cls.month = (local_ms("2026-11-01T00:00", cls.ZONE), local_ms("2026-12-01T00:00",
                                                                       cls.ZONE))
        cls.in_month = [i for i in cls.incidents if in_range(i, *cls.month)]

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()

    def listed(self, *args, zone=ZONE):
        """The ids `firegate incidents` lists (through --csv), in its order."""
        out = self.gw.firegate("incidents", "--tz", zone, "--csv", *args, check=OK,
                               timeout=300).stdout
        return [int(row["id"]) for row in csv.DictReader(io.StringIO(out))]

    @staticmethod
    def expected(incidents):
        return [i["id"] for i in sorted(incidents, key=lambda i: (i["first_at"], i["id"]))]

    def month_args(self):
        return ("--from", "2026-11-01", "--to", "2026-11-30")

    def test_the_month_holds_more_than_ten_thousand_incidents(self):
        self.assertGreaterEqual(len(self.in_month), 10000)
        self.assertEqual(self.listed(*self.month_args()), self.expected(self.in_month))

    def test_the_same_month_given_with_offsets_and_in_utc(self):
        want = self.expected(self.in_month)
        self.assertEqual(self.listed("--from", "2026-11-01T00:00:00+07:00",
                                     "--to", "2026-11-30T17:00:00Z"), want)
        self.assertEqual(self.listed("--from", "2026-10-31T17:00", "--to", "2026-11-30T17:00",
                                     zone="UTC"), want)

    def test_every_filter_gives_the_exact_incidents(self):
        month = self.in_month
        unit = next(d[1] for d in self.detectors if d[1])
        stair = next(d for d in self.detectors if d[1] is None)
        detector = next(d[0] for d in self.detectors if d[1] == unit)

        def any_det(inc, pred):
            return any(pred(d) for d in inc["dets"])

        cases = [
            (("--unit", unit), lambda i: i["unit"] == unit or any_det(i, lambda d: d[2] == unit)),
            (("--floor", "3"), lambda i: i["floor"] == 3 or any_det(i, lambda d: d[3] == 3)),
            (("--floor", str(stair[2])),
             lambda i: i["floor"] == stair[2] or any_det(i, lambda d: d[3] == stair[2])),
            (("--detector", detector),
             lambda i: i["detector"] == detector or any_det(i, lambda d: d[1] == detector)),
            (("--detector", stair[0]),
             lambda i: i["detector"] == stair[0] or any_det(i, lambda d: d[1] == stair[0])),
            (("--cause", "SMOKE"), lambda i: "smoke" in i["cause"].lower()),
            (("--cause", "battery low"), lambda i: "battery low" in i["cause"].lower()),
            (("--cause", "°C"), lambda i: "°c" in i["cause"].lower()),
            (("--kind", "alarm"), lambda i: i["kind"] == "alarm"),
            (("--kind", "pre_alarm"), lambda i: i["kind"] == "pre_alarm"),
            (("--kind", "fault"), lambda i: i["kind"] == "fault"),
            (("--state", "closed"), lambda i: i["state"] == "closed"),
            (("--state", "open"), lambda i: i["state"] == "open"),
            (("--state", "acknowledged"), lambda i: i["state"] == "acknowledged"),
            (("--kind", "fault", "--cause", "offline", "--floor", "2"),
             lambda i: i["kind"] == "fault" and "offline" in i["cause"].lower()
             and (i["floor"] == 2 or any_det(i, lambda d: d[3] == 2))),
            (("--unit", unit, "--kind", "alarm", "--state", "closed"),
             lambda i: i["kind"] == "alarm" and i["state"] == "closed"
             and (i["unit"] == unit or any_det(i, lambda d: d[2] == unit))),
            (("--cause", "no such cause"), lambda i: False),
        ]
        for args, pred in cases:
            with self.subTest(args=args):
                want = self.expected([i for i in month if pred(i)])
                self.assertEqual(self.listed(*self.month_args(), *args), want)
        # Each filter alone over the whole log, too: the range is not what makes them right.
        for args, pred in cases[:4]:
            with self.subTest(args=args, whole_log=True):
                self.assertEqual(self.listed(*args), self.expected(
                    [i for i in self.incidents if pred(i)]))

    def test_open_incidents_from_before_the_range_are_in_it(self):
        start, end = local_ms("2026-11-20T00:00", self.ZONE), local_ms("2026-11-21T00:00",
                                                                        self.ZONE)
        want = [i for i in self.incidents if in_range(i, start, end)]
        self.assertTrue(any(i["first_at"] < start for i in want))
        self.assertEqual(self.listed("--from", "2026-11-20", "--to", "2026-11-20"),
                         self.expected(want))

    def test_a_day_of_the_change_from_summer_time_in_berlin(self):
        # 2026-10-25 in Berlin is 25 hours long: 00:00+02:00 to 24:00+01:00.
        start = ms("2026-10-25T00:00:00+02:00")
        end = ms("2026-10-26T00:00:00+01:00")
        self.assertEqual(end - start, 25 * HOUR)
        want = self.expected([i for i in self.incidents if in_range(i, start, end)])
        self.assertEqual(self.listed("--from", "2026-10-25", "--to", "2026-10-25",
                                     zone="Europe/Berlin"), want)
        rows = json.loads(self.gw.firegate("incidents", "--tz", "Europe/Berlin", "--json",
                                           "--from", "2026-10-25", "--to", "2026-10-25",
                                           check=OK).stdout)
        offsets = {r["first_at"][-6:] for r in rows}
        self.assertEqual(offsets, {"+02:00", "+01:00"})

    def test_times_are_printed_in_the_chosen_zone(self):
        inc = self.in_month[0]
        rows = json.loads(self.gw.firegate("incidents", "--tz", "Asia/Ho_Chi_Minh", "--json",
                                           "--detector", inc["detector"], "--from",
                                           "2026-11-01", "--to", "2026-11-30", check=OK).stdout)
        row = next(r for r in rows if r["id"] == inc["id"])
        want = datetime.fromtimestamp(inc["first_at"] / 1000, ZoneInfo("Asia/Ho_Chi_Minh"))
        self.assertEqual(row["first_at"], want.isoformat(timespec="milliseconds"))

    def test_a_zone_that_does_not_exist_is_refused(self):
        for zone in ("Mars/Olympus_Mons", "../../etc/passwd", "", "Asia/Ho Chi Minh"):
            with self.subTest(zone=zone):
                done = self.gw.firegate("incidents", "--tz", zone, check=USAGE)
                self.assertIn("--tz expects a time zone", done.stderr)

    def test_the_month_is_listed_without_writing(self):
        before = record_tables(self.db)
        self.listed(*self.month_args(), "--kind", "alarm")
        self.gw.firegate("incident", "show", str(self.in_month[0]["id"]), check=OK)
        self.assertEqual(record_tables(self.db), before)
        self.assertEqual([a[1] for a in audit_rows(self.db)[-2:]], ["incidents", "incident-show"])


# --- one incident's timeline ---------------------------------------------------------------

ALERT_UUID = "6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f"


def seed_timeline(db_path):
    """Incident 1 of a fresh store: an alarm in a unit, acknowledged from the platform, silenced
    at the desk, reset from the platform; its alerts in the outbox (one not yet delivered), the
    platform's commands (one refused) and their responses. Returns the unit."""
    db = sqlite3.connect(db_path)
    try:
        unit = db.execute("SELECT address_id FROM unit ORDER BY floor, number LIMIT 1").fetchone()[0]
        t0 = ms("2026-11-23T22:00:00+07:00")
        with db:
            db.execute("INSERT INTO incident (id, kind, state, place, unit, floor, detector, "
                       "cause, rule, flags, first_at, alarm_at, last_at, closed_at, "
                       "acknowledged_by, acknowledged_at, silenced_by, silenced_at, reset_by, "
                       "reset_at) VALUES (1, 'alarm', 'closed', ?, ?, 1, 'f1-u01-smoke', "
                       "'smoke persisted through verification (25 s)', 'units', "
                       "'priority_rescue', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (f"unit:{unit}", unit, t0, t0 + 25000, t0 + 600000, t0 + 600000,
                        "platform:city-ops (duty officer 4)", t0 + 95000, "uid 1001 (desk)",
                        t0 + 120000, "platform:city-ops (duty officer 4)", t0 + 600000))
            db.execute("INSERT INTO incident_detector (incident, detector, unit, floor, "
                       "first_at, alarm_at, acknowledged_at, silenced_at, ended_at) VALUES "
                       "(1, 'f1-u01-smoke', ?, 1, ?, ?, ?, ?, ?)",
                       (unit, t0, t0 + 25000, t0 + 95000, t0 + 120000, t0 + 600000))
            events = [
                (t0, "pre-alarm", "f1-u01-smoke", "alarm verification", "units", None, None),
                (t0 + 25000, "alarm", "f1-u01-smoke",
                 "smoke persisted through verification (25 s)", "units", "priority_rescue",
                 None),
                (t0 + 95000, "acknowledged", None, "acknowledged", "built-in", None,
                 "platform:city-ops (duty officer 4)"),
                (t0 + 120000, "silenced", None, "silenced", "built-in", None, "uid 1001 (desk)"),
                (t0 + 600000, "reset", None, "reset", "built-in", None,
                 "platform:city-ops (duty officer 4)"),
            ]
            for at, decision, det, cause, rule, flags, who in events:
                db.execute("INSERT INTO incident_event (incident, at, decision, detector, place, "
                           "cause, rule, flags, who) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (at, decision, det, f"unit:{unit}", cause, rule, flags, who))
            commands = [
                (t0 + 94000, "ack", "req-ack-0001", "1", "ok", "acknowledge unit:x by platform"),
                (t0 + 300000, "silence", "req-sil-0002", "1", "refused", "nothing to silence"),
                (t0 + 599990, "reset", "req-rst-0003", "1", "ok", "reset by platform"),
            ]
            for at, verb, req, target, result, reason in commands:
                db.execute("INSERT INTO command (at, account, verb, request_id, sent_at, target, "
                           "operator, result, reason, incident) VALUES (?, 'city-ops', ?, ?, ?, "
                           "?, 'duty officer 4', ?, ?, 1)",
                           (at, verb, req, at - 300, target, result, reason))
            outbox = [
                (1, ALERT_UUID, "alert", 0, "alert", "fire_alarm", None, t0 + 25000,
                 t0 + 25140),
                (2, "0b0c6a52-2f44-4d8e-a1e6-7d1f5b1e9a01", "response", 1, "resp/req-ack-0001",
                 None, None, t0 + 94000, t0 + 94100),
                (3, "a7d2e3f4-5b6c-4d7e-8f90-0a1b2c3d4e5f", "alert", 1, "alert", "acknowledge",
                 "platform:city-ops (duty officer 4)", t0 + 95000, t0 + 95080),
                (4, "c3b2a190-8f7e-4d6c-b5a4-93827160f5e4", "alert", 1, "alert", "reset",
                 "platform:city-ops (duty officer 4)", t0 + 600000, None),
            ]
            for seq, uuid, kind, prio, topic, event, by, created, delivered in outbox:
                payload = {"schema": "firegate/alert" if kind == "alert" else "firegate/response",
                           "version": 1, "gateway": "gw-test", "at": created, "id": uuid,
                           "seq": seq, "incident": 1}
                if event:
                    payload.update({"event": event, "place": f"unit:{unit}", "by": by})
                db.execute("INSERT INTO outbox (seq, id, kind, priority, topic, payload, "
                           "incident, created_at, delivered_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, "
                           "?)", (seq, uuid, kind, prio, topic, json.dumps(payload), created,
                                  delivered))
        return unit
    finally:
        db.close()


class IncidentShow(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = fgtest.Gateway()
        cls.gw.firegate("import", cls.gw.bundle(floors=2, units_per_floor=2, basement=0),
                        check=OK)
        cls.db = cls.gw.state / "firegate.db"
        cls.unit = seed_timeline(cls.db)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()

    def show(self, *args):
        return self.gw.firegate("incident", "show", "1", "--tz", "Asia/Ho_Chi_Minh", *args,
                                check=OK)

    def test_json_has_the_incident_and_its_whole_timeline_in_order(self):
        doc = json.loads(self.show("--json").stdout)
        self.assertEqual(doc["incident"]["id"], 1)
        self.assertEqual(doc["incident"]["acknowledged_by"], "platform:city-ops (duty officer 4)")
        self.assertEqual(doc["incident"]["first_at"], "2026-11-23T22:00:00.000+07:00")
        tl = doc["timeline"]
        self.assertEqual([(r["record"], r["what"]) for r in tl], [
            ("event", "pre-alarm"),
            ("event", "alarm"),
            ("uplink", "fire_alarm"),
            ("command", "ack"),
            ("uplink", "response"),
            ("event", "acknowledged"),
            ("uplink", "acknowledge"),
            ("event", "silenced"),
            ("command", "silence"),
            ("command", "reset"),
            ("event", "reset"),
            ("uplink", "reset"),
        ])
        self.assertEqual(list(tl[0]), [
            "incident", "at", "record", "what", "detector", "place", "who", "via", "cause",
            "rule", "flags", "fault", "output", "topic", "seq", "message_id", "delivered_at",
            "request_id", "operator", "result", "reason"])
        alarm, fire, ack = tl[1], tl[2], tl[3]
        self.assertEqual(alarm["detector"], "f1-u01-smoke")
        self.assertEqual(alarm["flags"], "priority_rescue")
        self.assertEqual(alarm["at"], "2026-11-23T22:00:25.000+07:00")
        self.assertEqual(fire["seq"], 1)
        self.assertEqual(fire["message_id"], ALERT_UUID)
        self.assertEqual(fire["topic"], "alert")
        self.assertEqual(fire["delivered_at"], "2026-11-23T22:00:25.140+07:00")
        self.assertEqual(ack["who"], "platform:city-ops")
        self.assertEqual(ack["via"], "platform")
        self.assertEqual(ack["request_id"], "req-ack-0001")
        self.assertEqual(ack["operator"], "duty officer 4")
        self.assertEqual(tl[7]["who"], "uid 1001 (desk)")
        self.assertEqual(tl[7]["via"], "local")
        self.assertEqual(tl[8]["result"], "refused")
        self.assertIsNone(tl[-1]["delivered_at"])  # no PUBACK yet

    def test_table_for_people(self):
        out = self.show().stdout
        self.assertIn("Incident 1", out)
        self.assertIn("Timeline", out)
        self.assertRegex(out, r"acknowledged_by\s+platform:city-ops \(duty officer 4\)")
        self.assertIn("alert seq 1, PUBACK 2026-11-23T22:00:25.140+07:00", out)
        self.assertIn("alert seq 4, not yet delivered", out)
        self.assertIn("operator duty officer 4, request req-sil-0002: refused (nothing to "
                      "silence)", out)
        self.assertIn("uid 1001 (desk)", out)

    def test_csv_is_the_timeline_rfc_4180(self):
        env = {k: v for k, v in os.environ.items() if k != "FIREGATE_CONFIG"}
        done = subprocess.run([fgtest.BIN, "--config", str(self.gw.config), "incident", "show",
                               "--csv", "--tz", "UTC", "1"], capture_output=True, env=env,
                              timeout=60)
        self.assertEqual(done.returncode, OK, done.stderr)
        data = done.stdout.decode()
        self.assertTrue(data.startswith("incident,at,record,what,"))
        self.assertTrue(data.endswith("\r\n"))
        self.assertEqual(data.replace("\r\n", "").count("\n"), 0)
        rows = list(csv.DictReader(io.StringIO(data, newline="")))
        self.assertEqual(len(rows), 12)
        self.assertEqual(rows[2]["delivered_at"], "2026-11-23T15:00:25.140+00:00")
        self.assertEqual(rows[-1]["delivered_at"], "")

    def test_no_such_incident_is_refused(self):
        done = self.gw.firegate("incident", "show", "99", check=REFUSED)
        self.assertIn("no incident 99", done.stderr)

    def test_usage_errors(self):
        for args, why in [
            ([], "incident show ID"),
            (["list"], "incident show ID"),
            (["show"], "exactly one incident ID"),
            (["show", "1", "2"], "exactly one incident ID"),
            (["show", "x1"], "positive number"),
            (["show", "-3"], "unknown option"),
            (["show", "+3"], "positive number"),
            (["show", "1", "--json", "--csv"], "not both"),
            (["show", "1", "--tz", "Nowhere/Town"], "--tz expects"),
        ]:
            with self.subTest(args=args):
                done = self.gw.firegate("incident", *args, check=USAGE)
                self.assertIn(why, done.stderr)

    def test_help(self):
        out = self.gw.firegate("incident", "show", "--help", check=OK).stdout
        self.assertIn("Usage: firegate [--config PATH] incident show", out)
        for option in ("--json", "--csv", "--tz"):
            self.assertIn(option, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
