#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`firegate report` through the real binary, on a month whose figures are known: alarms, false
alarms, pre-alarms, faults by kind, mean and worst time to acknowledge to the second, and the
detectors never tested, for the building, by unit and by floor, as a table, JSON and CSV; and
`firegate reset --false-alarm` through a real daemon and a real Mosquitto broker, whose mark the
report and the listing then show.

The month's incidents are written with Python's sqlite3 into a store that `firegate import`
made, shaped as gateway/incident.c writes them; each expected figure below is worked out by hand
from them (docs/reports.md says how each is counted).
"""

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import unittest
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
from broker import Broker  # noqa: E402

OK, FAILURE, USAGE, REFUSED = 0, 1, 2, 3
ZONE = "Asia/Ho_Chi_Minh"
PERIOD = ("--tz", ZONE, "--from", "2026-11-01", "--to", "2026-11-30")
DESK = "uid 1001 (desk)"
MANAGER = "uid 1002 (manager)"


def ms(iso):
    return int(datetime.fromisoformat(iso).astimezone(timezone.utc).timestamp() * 1000)


def ict(text):
    """UTC ms of a time in Vietnam (UTC+7)."""
    return ms(text + "+07:00")


def registry(db_path):
    db = sqlite3.connect(db_path)
    try:
        units = db.execute("SELECT address_id, floor FROM unit ORDER BY floor, number").fetchall()
        dets = db.execute("SELECT d.detector_id, d.unit, coalesce(d.floor, u.floor), d.zone FROM "
                          "detector d LEFT JOIN unit u ON u.address_id = d.unit "
                          "ORDER BY d.detector_id").fetchall()
        return units, dets
    finally:
        db.close()


class Month:
    """The incidents of the month (and a few just outside it), as incident.c leaves them."""

    def __init__(self, units, dets):
        (self.a, _), (self.b, _), (self.c, _), (self.d, _) = units[:4]
        self.stair2 = next(d for d in dets if d[1] is None and d[2] == 2 and d[3] == "stair-a")
        self.unit_det = {u: next(d for d in dets if d[1] == u) for u, _ in units}
        self.rows = []

    def incident(self, kind, where, first, alarm=None, ack_s=None, closed=None, fault=None,
                 false_alarm=False):
        det = self.unit_det[where] if where in self.unit_det else where
        iid = len(self.rows) + 1
        if det is None:  # a fault of no detector: the building broker's
            place, unit, floor, zone, det_id = "building", None, None, None, None
        else:
            det_id, unit, floor, zone = det
            place = f"unit:{unit}" if unit else f"zone:{zone}"
        ack_at = alarm + int(ack_s * 1000) if ack_s is not None else None
        closed = closed if closed is not None else (ack_at or alarm or first) + 600000
        self.rows.append({
            "id": iid, "kind": kind, "state": "closed", "place": place, "unit": unit,
            "floor": floor, "zone": zone, "detector": det_id, "fault": fault,
            "cause": {"alarm": "smoke persisted through verification (25 s)",
                      "pre_alarm": "alarm verification", "fault": "supervision"}[kind],
            "rule": "units", "first_at": first, "alarm_at": alarm, "last_at": closed,
            "closed_at": closed, "acknowledged_by": DESK if ack_at else None,
            "acknowledged_at": ack_at, "reset_by": MANAGER if kind != "fault" else None,
            "reset_at": closed if kind != "fault" else None,
            "false_alarm_by": MANAGER if false_alarm else None,
            "false_alarm_at": closed if false_alarm else None})

    def write(self, db_path):
        cols = list(self.rows[0])
        db = sqlite3.connect(db_path)
        try:
            with db:
                for r in self.rows:
                    db.execute(f"INSERT INTO incident ({', '.join(cols)}) VALUES "
                               f"({', '.join('?' * len(cols))})", [r[c] for c in cols])
                    if r["detector"]:
                        db.execute("INSERT INTO incident_detector (incident, detector, unit, "
                                   "floor, zone, first_at, alarm_at, ended_at) VALUES "
                                   "(?, ?, ?, ?, ?, ?, ?, ?)",
                                   (r["id"], r["detector"], r["unit"], r["floor"], r["zone"],
                                    r["first_at"], r["alarm_at"], r["closed_at"]))
                    decision = {"alarm": "alarm", "pre_alarm": "pre-alarm",
                                "fault": "fault"}[r["kind"]]
                    db.execute("INSERT INTO incident_event (incident, at, decision, detector, "
                               "place, cause, rule, fault) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (r["id"], r["alarm_at"] or r["first_at"], decision, r["detector"],
                                r["place"], r["cause"], r["rule"], r["fault"]))
        finally:
            db.close()


def add_tests(db_path, tests, disabled):
    """Test decisions as the engine's engine_event rows: (detector, unit, floor, at); and
    detector @disabled disabled in the month, which is no test."""
    db = sqlite3.connect(db_path)
    try:
        with db:
            db.executemany("INSERT INTO engine_event (at, decision, detector, unit, floor, place, "
                           "cause, rule) VALUES (?, 'test', ?, ?, ?, ?, 'walk test', 'built-in')",
                           ((at, det, unit, floor, f"unit:{unit}" if unit else f"floor:{floor}")
                            for det, unit, floor, at in tests))
            db.execute("INSERT INTO engine_event (at, decision, detector, place, cause, rule) "
                       "VALUES (?, 'disabled', ?, 'building', 'disabled', 'built-in')",
                       (ict("2026-11-10T10:00:00"), disabled))
    finally:
        db.close()


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = fgtest.Gateway()
        cls.gw.firegate("import", cls.gw.bundle(floors=2, units_per_floor=2, basement=0),
                        check=OK)
        cls.db = cls.gw.state / "firegate.db"
        units, cls.dets = registry(cls.db)
        m = Month(units, cls.dets)
        cls.m = m
        # Unit A (floor 1): two alarms, one false; two battery faults.
        m.incident("alarm", m.a, ict("2026-11-03T10:00:00"), ict("2026-11-03T10:00:00"),
                   ack_s=30.0, false_alarm=True)
        m.incident("alarm", m.a, ict("2026-11-10T08:00:00"), ict("2026-11-10T08:00:25"),
                   ack_s=95.4)
        m.incident("fault", m.a, ict("2026-11-02T03:00:00"), fault="battery_low")
        m.incident("fault", m.a, ict("2026-11-15T03:00:00"), fault="battery_low")
        # Unit B (floor 1): a pre-alarm that became an alarm just after the month began (it
        # counts), a pre-alarm that did not, an invalid-data fault in the month's last
        # millisecond.
        m.incident("alarm", m.b, ict("2026-10-31T23:59:40"), ict("2026-11-01T00:00:30"),
                   ack_s=10.0)
        m.incident("pre_alarm", m.b, ict("2026-11-05T12:00:00"))
        m.incident("fault", m.b, ict("2026-11-30T23:59:59.999"), fault="invalid_data")
        # Unit C (floor 2): a false alarm acknowledged after 61.5 s, an alarm reset without
        # acknowledgement, a silent detector.
        m.incident("alarm", m.c, ict("2026-11-12T19:00:00"), ict("2026-11-12T19:00:00"),
                   ack_s=61.5, false_alarm=True)
        m.incident("alarm", m.c, ict("2026-11-20T02:00:00"), ict("2026-11-20T02:00:00"))
        m.incident("fault", m.c, ict("2026-11-07T09:00:00"), fault="silent")
        # Unit D (floor 2): a pre-alarm; a fault from before the month, still open in it (it
        # began before, so it is not the month's).
        m.incident("pre_alarm", m.d, ict("2026-11-06T06:00:00"))
        m.incident("fault", m.d, ict("2026-10-30T00:00:00"), fault="offline",
                   closed=ict("2026-11-02T00:00:00"))
        # Stair A on floor 2 (no unit): an alarm acknowledged after 240 s, a tamper fault.
        m.incident("alarm", m.stair2, ict("2026-11-08T14:00:00"), ict("2026-11-08T14:00:00"),
                   ack_s=240.0)
        m.incident("fault", m.stair2, ict("2026-11-08T15:00:00"), fault="tamper")
        # The building broker (no detector, unit or floor): a fault of a kind the engine
        # does not name.
        m.incident("fault", None, ict("2026-11-09T00:00:00"), fault="unknown")
        # Outside the month: an alarm before it (closed in it) and one at its very end.
        m.incident("alarm", m.a, ict("2026-10-31T23:00:00"), ict("2026-10-31T23:00:00"),
                   ack_s=5.0, closed=ict("2026-11-01T01:00:00"), false_alarm=True)
        m.incident("alarm", m.c, ict("2026-12-01T00:00:00"), ict("2026-12-01T00:00:00"),
                   ack_s=1.0)
        m.write(cls.db)
        # Tests: every unit detector of unit A and the lobby in the month; unit B's smoke
        # detector only before it and at its end (neither counts).
        cls.tested = {d[0] for d in cls.dets if d[1] == m.a} | {
            d[0] for d in cls.dets if d[0].startswith("f1-lobby")}
        b_smoke = next(d for d in cls.dets if d[1] == m.b)
        tests = [(d[0], d[1], d[2], ict("2026-11-14T09:00:00")) for d in cls.dets
                 if d[0] in cls.tested]
        tests += [(b_smoke[0], b_smoke[1], b_smoke[2], ict("2026-10-31T23:59:59.999")),
                  (b_smoke[0], b_smoke[1], b_smoke[2], ict("2026-12-01T00:00:00")),
                  ("not-in-registry", None, 1, ict("2026-11-14T09:00:00"))]
        add_tests(cls.db, tests, disabled=cls.unit_det_of(m.c))
        cls.untested = [d for d in cls.dets if d[0] not in cls.tested]

    @classmethod
    def unit_det_of(cls, unit):
        return next(d[0] for d in cls.dets if d[1] == unit)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()

    def report(self, *args):
        return json.loads(self.gw.firegate("report", *PERIOD, *args, "--json", check=OK).stdout)

    def never(self, pred):
        return sum(1 for d in self.untested if pred(d))

    def figures(self, alarms, false_alarms, pre_alarms, faults, acknowledged, mean, worst,
                detectors, never_tested, **fault_kinds):
        kinds = {k: 0 for k in ("silent", "offline", "battery_low", "tamper", "device",
                                "invalid_data", "other")}
        kinds.update(fault_kinds)
        out = {"alarms": alarms, "false_alarms": false_alarms, "pre_alarms": pre_alarms,
               "faults": faults}
        out.update({f"faults_{k}": v for k, v in kinds.items()})
        out.update({"acknowledged": acknowledged, "ack_mean_s": mean, "ack_worst_s": worst,
                    "detectors": detectors, "never_tested": never_tested})
        return out

    def test_the_building_in_total(self):
        doc = self.report()
        self.assertEqual(doc["from"], "2026-11-01T00:00:00.000+07:00")
        self.assertEqual(doc["to"], "2026-12-01T00:00:00.000+07:00")
        self.assertIsNone(doc["by"])
        self.assertNotIn("groups", doc)
        # Acknowledged after 30, 95.4, 10, 61.5 and 240 s: mean 87.38, worst 240.
        self.assertEqual(doc["total"], self.figures(
            alarms=6, false_alarms=2, pre_alarms=2, faults=6, acknowledged=5, mean=87,
            worst=240, detectors=len(self.dets), never_tested=len(self.untested),
            battery_low=2, silent=1, tamper=1, invalid_data=1, other=1))

    def test_by_unit(self):
        doc = self.report("--by", "unit")
        m = self.m
        rows = {r["unit"]: r for r in doc["groups"]}
        units = [u for u, _ in registry(self.db)[0]]
        self.assertEqual([r["unit"] for r in doc["groups"]], units + [None])

        def at(unit, **fig):
            want = self.figures(**fig)
            got = {k: v for k, v in rows[unit].items() if k not in ("unit", "number", "floor")}
            self.assertEqual(got, want, unit)

        n = lambda unit: sum(1 for d in self.dets if d[1] == unit)  # noqa: E731
        # A: 30 and 95.4 s: mean 62.7, worst 95.4.
        at(m.a, alarms=2, false_alarms=1, pre_alarms=0, faults=2, acknowledged=2, mean=63,
           worst=95, detectors=n(m.a), never_tested=0, battery_low=2)
        at(m.b, alarms=1, false_alarms=0, pre_alarms=1, faults=1, acknowledged=1, mean=10,
           worst=10, detectors=n(m.b), never_tested=n(m.b), invalid_data=1)
        # C: 61.5 s rounds to 62.
        at(m.c, alarms=2, false_alarms=1, pre_alarms=0, faults=1, acknowledged=1, mean=62,
           worst=62, detectors=n(m.c), never_tested=n(m.c), silent=1)
        at(m.d, alarms=0, false_alarms=0, pre_alarms=1, faults=0, acknowledged=0, mean=None,
           worst=None, detectors=n(m.d), never_tested=n(m.d))
        at(None, alarms=1, false_alarms=0, pre_alarms=0, faults=2, acknowledged=1, mean=240,
           worst=240, detectors=n(None), never_tested=self.never(lambda d: d[1] is None),
           tamper=1, other=1)
        self.assertEqual((rows[m.a]["number"], rows[m.a]["floor"]), ("1.01", 1))
        self.assertEqual(rows[m.c]["floor"], 2)
        self.assertIsNone(rows[None]["floor"])
        # The rows add up to the total.
        for key in ("alarms", "false_alarms", "pre_alarms", "faults", "detectors",
                    "never_tested"):
            self.assertEqual(sum(r[key] for r in doc["groups"]), doc["total"][key], key)

    def test_by_floor(self):
        doc = self.report("--by", "floor")
        rows = {r["floor"]: r for r in doc["groups"]}
        self.assertEqual(list(rows), [1, 2, None])

        def at(floor, **fig):
            got = {k: v for k, v in rows[floor].items() if k != "floor"}
            self.assertEqual(got, self.figures(**fig), floor)

        n = lambda floor: sum(1 for d in self.dets if d[2] == floor)  # noqa: E731
        never = lambda floor: self.never(lambda d: d[2] == floor)  # noqa: E731
        # Floor 1: 30, 95.4 and 10 s: mean 45.13, worst 95.4.
        at(1, alarms=3, false_alarms=1, pre_alarms=1, faults=3, acknowledged=3, mean=45,
           worst=95, detectors=n(1), never_tested=never(1), battery_low=2, invalid_data=1)
        # Floor 2: 61.5 and 240 s: mean 150.75, worst 240.
        at(2, alarms=3, false_alarms=1, pre_alarms=1, faults=2, acknowledged=2, mean=151,
           worst=240, detectors=n(2), never_tested=never(2), silent=1, tamper=1)
        at(None, alarms=0, false_alarms=0, pre_alarms=0, faults=1, acknowledged=0, mean=None,
           worst=None, detectors=0, never_tested=0, other=1)

    def test_detectors_never_tested(self):
        doc = self.report()
        got = [(d["detector"], d["unit"], d["floor"], d["zone"]) for d in doc["never_tested"]]
        self.assertEqual(sorted(got, key=lambda d: d[0]), sorted(self.untested))
        self.assertTrue(any(d[0] == next(x for x in self.dets if x[1] == self.m.b)[0]
                            for d in got), "a test outside [from, to) does not count")
        out = self.gw.firegate("report", *PERIOD, "--never-tested", "--csv", check=OK).stdout
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual(sorted(r["detector"] for r in rows),
                         sorted(d[0] for d in self.untested))
        self.assertEqual(list(rows[0]), ["detector", "unit", "floor", "zone"])

    def test_csv_is_rfc_4180_with_a_total_row(self):
        env = {k: v for k, v in os.environ.items() if k != "FIREGATE_CONFIG"}
        done = subprocess.run([fgtest.BIN, "--config", str(self.gw.config), "report", *PERIOD,
                               "--by", "floor", "--csv"], capture_output=True, env=env,
                              timeout=60)
        self.assertEqual(done.returncode, OK, done.stderr)
        data = done.stdout.decode()
        self.assertTrue(data.endswith("\r\n"))
        self.assertEqual(data.replace("\r\n", "").count("\n"), 0)
        rows = list(csv.DictReader(io.StringIO(data, newline="")))
        self.assertEqual([r["floor"] for r in rows], ["1", "2", "", "total"])
        self.assertEqual(rows[-1]["alarms"], "6")
        self.assertEqual(rows[-1]["ack_mean_s"], "87")
        self.assertEqual(rows[2]["ack_mean_s"], "")
        self.assertEqual(list(rows[0])[:5], ["floor", "alarms", "false_alarms", "pre_alarms",
                                             "faults"])

    def test_table_for_people(self):
        out = self.gw.firegate("report", *PERIOD, "--by", "unit", check=OK).stdout
        self.assertIn("Report from 2026-11-01T00:00:00+07:00 to 2026-12-01T00:00:00+07:00", out)
        total = next(line for line in out.splitlines() if line.startswith("total"))
        self.assertEqual(total.split()[:6], ["total", "-", "-", "6", "2", "2"])
        self.assertIn("battery_low 2, tamper 1, invalid_data 1, other 1", out.replace(
            "silent 1, ", ""))
        self.assertIn(f"Detectors never tested from 2026-11-01T00:00:00+07:00 to "
                      f"2026-12-01T00:00:00+07:00: {len(self.untested)}", out)

    def test_the_period_in_another_zone_moves_its_edges(self):
        # In UTC the month starts 7 hours later: unit B's promoted alarm (00:00:30 in Vietnam)
        # falls before it, and the alarm at midnight of December 1st in Vietnam falls in it.
        doc = json.loads(self.gw.firegate("report", "--tz", "UTC", "--from", "2026-11-01",
                                          "--to", "2026-11-30", "--json", check=OK).stdout)
        self.assertEqual(doc["from"], "2026-11-01T00:00:00.000+00:00")
        self.assertEqual(doc["total"]["alarms"], 6)
        self.assertEqual(doc["total"]["acknowledged"], 5)
        # 30, 95.4, 61.5, 240 and 1 s: mean 85.58.
        self.assertEqual(doc["total"]["ack_mean_s"], 86)

    def test_usage_errors(self):
        for args, why in [
            ([], "give the period"),
            (["--from", "2026-11-01"], "give the period"),
            (["--from", "2026-11-02", "--to", "2026-11-01"], "before --to"),
            (["--from", "November", "--to", "2026-11-30"], "ISO 8601"),
            (["--from", "2026-11-01", "--to", "2026-11-30", "--by", "zone"], "--by must be"),
            (["--from", "2026-11-01", "--to", "2026-11-30", "--json", "--csv"], "not both"),
            (["--from", "2026-11-01", "--to", "2026-11-30", "--tz", "Moon/Base"], "--tz expects"),
            (["--from", "2026-11-01", "--to", "2026-11-30", "--never-tested", "--by", "unit"],
             "--by does not apply"),
            (["--from", "2026-11-01", "--to", "2026-11-30", "extra"], "unexpected argument"),
        ]:
            with self.subTest(args=args):
                self.assertIn(why, self.gw.firegate("report", *args, check=USAGE).stderr)

    def test_help(self):
        out = self.gw.firegate("report", "--help", check=OK).stdout
        self.assertIn("Usage: firegate [--config PATH] report", out)
        for option in ("--by unit|floor", "--never-tested", "--tz", "--json", "--csv"):
            self.assertIn(option, out)

    def test_no_store_is_a_failure(self):
        gw = fgtest.Gateway()
        try:
            self.assertIn("no store yet", gw.firegate("report", *PERIOD, check=FAILURE).stderr)
        finally:
            gw.cleanup()


class FalseAlarmThroughTheDaemon(unittest.TestCase):
    """A manager resets a heat alarm as false through the control socket of a running daemon
    fed by a real broker; the incident it closed carries the mark, and the report counts it."""

    def setUp(self):
        self.broker = Broker()
        self.addCleanup(self.broker.cleanup)
        self.gw = fgtest.Gateway(broker_port=self.broker.port)
        self.addCleanup(self.gw.cleanup)
        rules = self.gw.dir / "rules"
        shutil.copytree(fgtest.ROOT / "rules", rules, ignore=shutil.ignore_patterns("*.[ch]"))
        self.gw.config.write_text(self.gw.config.read_text() + f"[rules]\ndir = {rules}\n")
        self.gw.firegate("import", self.gw.bundle(floors=2, units_per_floor=2), check=OK)
        self.daemon = fgtest.Daemon(self.gw)
        self.addCleanup(self.stop_daemon)
        self.daemon.wait_for("ready")
        self.daemon.wait_for("building broker 127.0.0.1")

    def stop_daemon(self):
        self.assertEqual(self.daemon.stop(), 0, self.daemon.drain())

    def test_reset_as_false_alarm_marks_the_incident_it_closed(self):
        self.broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        self.daemon.wait_for("critical: alarm f1-u02-heat")
        incident = self.gw.json("incidents", "--kind", "alarm")[0]
        self.assertEqual(self.gw.firegate("ack", "--false-alarm", str(incident["id"]),
                                          check=USAGE).stderr.count("--false-alarm goes with "
                                                                    "reset"), 1)
        self.broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"OFF"}}')
        done = self.gw.firegate("reset", "--false-alarm", str(incident["id"]), check=OK)
        self.assertIn("1 incident marked as false alarm", done.stdout)
        self.daemon.wait_for("reset by uid")
        after = self.gw.json("incidents", "--kind", "alarm")[0]
        self.assertEqual(after["state"], "closed")
        self.assertIn("uid", after["false_alarm_by"])
        self.assertEqual(after["false_alarm_by"], after["reset_by"])
        self.assertEqual(after["false_alarm_at"], after["reset_at"])
        # Nothing left to reset: refused, and nothing marked.
        self.assertIn("nothing to reset", self.gw.firegate(
            "reset", "--false-alarm", "building", check=REFUSED).stderr)
        today = datetime.now(timezone.utc).date()
        doc = json.loads(self.gw.firegate("report", "--tz", "UTC", "--from", str(today),
                                          "--to", str(today), "--json", check=OK).stdout)
        self.assertEqual((doc["total"]["alarms"], doc["total"]["false_alarms"]), (1, 1))
        shown = json.loads(self.gw.firegate("incident", "show", str(incident["id"]), "--json",
                                            check=OK).stdout)
        reset = next(e for e in shown["timeline"] if e["what"] == "reset")
        self.assertEqual((reset["record"], reset["via"]), ("event", "local"))
        self.assertEqual(shown["incident"]["false_alarm_by"], after["false_alarm_by"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
