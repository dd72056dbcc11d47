#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`firegate walk-test` with the real daemon, a real building broker and a real upstream
broker: floor 1 in test mode; its heat detector's signal is recorded as a test (an engine
event), makes no incident, sounds no siren and sends no alert upstream, while a fire on floor 2
still alarms; the platform's retained status says a walk test runs, and says so no more after
it; the report lists the floor's detectors heard with their time and those never heard; a
second start is refused while one runs; a bad target and a bad duration are refused; the test
ends by itself at its time, and a detector still signalling then alarms for real.
"""

import json
import subprocess
import sqlite3
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
import uplink_schemas  # noqa: E402
from broker import Broker  # noqa: E402

OK, FAILURE, USAGE, REFUSED = 0, 1, 2, 3


class WalkTest(unittest.TestCase):
    def setUp(self):
        self.building = Broker()
        self.addCleanup(self.building.cleanup)
        self.upstream = Broker()
        self.addCleanup(self.upstream.cleanup)
        self.gw = fgtest.Gateway(broker_port=self.building.port,
                                 extra_config="id = gw-walk-test\n")
        self.addCleanup(self.gw.cleanup)
        self.gw.config.write_text(
            self.gw.config.read_text() +
            "[sounder]\ntopic = zigbee2mqtt/lobby-siren/set\n"
            f"[uplink]\nuris = tcp://127.0.0.1:{self.upstream.port}\ninsecure = yes\n")
        self.gw.firegate("import", self.gw.bundle(floors=2, units_per_floor=2), check=0)
        self.db = self.gw.state / "firegate.db"
        self.daemon = fgtest.Daemon(self.gw)
        self.addCleanup(self.stop_daemon)
        self.daemon.wait_for("ready")
        # Both connections, in whichever order they come.
        for needle in ("building broker 127.0.0.1", "uplink tcp://"):
            if not any(needle in line for line in self.daemon.seen):
                self.daemon.wait_for(needle)

    def stop_daemon(self):
        self.assertEqual(self.daemon.stop(), 0, self.daemon.drain())

    def query(self, sql, *args):
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def signal(self, detector, on=True):
        """@detector's alarm contact (Tasmota) or smoke/heat flag (Zigbee2MQTT), as its bridge
        sends it."""
        d = [x for x in self.gw.json("detectors") if x["detector_id"] == detector][0]
        bridge, device = d["address"].split(":", 1)
        if bridge == "tasmota":
            action = "ON" if on else "OFF"
            self.building.publish(f"stat/{device}/RESULT", f'{{"Switch1":{{"Action":"{action}"}}}}')
        else:
            self.building.publish(f"zigbee2mqtt/{device}", json.dumps({"smoke": on}))

    def retained_status(self):
        done = subprocess.run(["mosquitto_sub", "-p", str(self.upstream.port), "-t",
                               "firegate/v1/gw-walk-test/status", "-C", "1", "-W", "5"],
                              capture_output=True, text=True, timeout=10)
        self.assertEqual(done.returncode, 0, done.stderr)
        return uplink_schemas.validate("status", done.stdout.strip())

    def report(self):
        return self.gw.json("walk-test", "status")

    def test_signals_become_tests_and_the_report_lists_who_was_heard(self):
        done = self.gw.firegate("walk-test", "start", "--for", "10m", "floor:1", check=OK)
        self.assertIn("walk test of floor:1", done.stdout)
        self.daemon.wait_for("walk test of floor:1 started")
        status = self.retained_status()
        self.assertEqual(status["walk_test"]["target"], "floor:1")
        self.assertEqual(status["walk_test"]["until"] - status["walk_test"]["since"], 600000)
        # Refused while one runs.
        self.assertIn("runs already",
                      self.gw.firegate("walk-test", "start", "floor:2", check=REFUSED).stderr)
        alerts_before = self.query("SELECT count(*) FROM outbox WHERE kind = 'alert'")[0][0]
        self.signal("f1-u01-heat")
        self.daemon.wait_for("walk test: f1-u01-heat heard")
        # A test: an engine event, no incident, no alert, no siren.
        self.assertEqual(self.query("SELECT count(*) FROM incident WHERE kind = 'alarm'"),
                         [(0,)])
        tests = self.query("SELECT detector, cause FROM engine_event WHERE decision = 'test' "
                           "AND detector = 'f1-u01-heat'")
        self.assertEqual(len(tests), 1)
        self.assertTrue(tests[0][1].startswith("walk test:"), tests)
        self.assertEqual(self.query("SELECT count(*) FROM outbox WHERE kind = 'alert'")[0][0],
                         alerts_before)
        self.assertNotIn("output-on", self.daemon.drain())
        # Floor 2 is not in the test: a fire there is a fire.
        self.signal("f2-u01-heat")
        self.daemon.wait_for("alarm f2-u01-heat")
        self.assertEqual(self.query("SELECT detector FROM incident WHERE kind = 'alarm'"),
                         [("f2-u01-heat",)])
        report = self.report()
        self.assertTrue(report["active"])
        by_id = {d["id"]: d for d in report["detectors"]}
        self.assertIn("f1-u01-heat", by_id)
        self.assertNotIn("f2-u01-heat", by_id)
        self.assertIsInstance(by_id["f1-u01-heat"]["seen_at"], int)
        never = [d for d in report["detectors"] if d["seen_at"] is None]
        self.assertEqual((report["seen"], report["never_seen"]), (1, len(never)))
        self.assertGreater(len(never), 0)
        self.assertTrue(all(d["floor"] == 1 for d in report["detectors"]))
        text = self.gw.firegate("walk-test", "status", check=OK).stdout
        self.assertIn(f"{report['in_test']} detectors in test, 1 heard", text)
        lines = text.splitlines()
        # Those never heard come first, then the heard one with its time.
        heard = [i for i, line in enumerate(lines) if "f1-u01-heat" in line][0]
        self.assertTrue(all("never" in lines[i] for i in range(heard - len(never), heard)))
        csv = self.gw.firegate("walk-test", "status", "--csv", check=OK).stdout.splitlines()
        self.assertEqual(csv[0], "id,kind,unit,floor,zone,seen_at")
        self.assertEqual(len(csv), 1 + report["in_test"])
        self.signal("f1-u01-heat", on=False)
        self.gw.firegate("walk-test", "stop", check=OK)
        self.daemon.wait_for("walk test of floor:1 ended")
        self.assertNotIn("walk_test", self.retained_status())
        self.assertFalse(self.report()["active"])
        self.assertIn("no walk test runs",
                      self.gw.firegate("walk-test", "stop", check=REFUSED).stderr)

    def test_it_ends_by_itself_and_what_still_signals_alarms(self):
        self.gw.firegate("walk-test", "start", "--for", "5s", "f1-u02-heat", check=OK)
        self.signal("f1-u02-heat")
        self.daemon.wait_for("walk test: f1-u02-heat heard")
        self.assertEqual(self.query("SELECT count(*) FROM incident WHERE kind = 'alarm'"),
                         [(0,)])
        started = time.monotonic()
        self.daemon.wait_for("ended by the walk test's timer", timeout=15)
        self.assertLess(time.monotonic() - started, 8)
        # The contact is still closed: once the test is over it is a fire (logged with the
        # test's end, so it may have been read already).
        if not any("alarm f1-u02-heat" in line for line in self.daemon.seen):
            self.daemon.wait_for("alarm f1-u02-heat")
        self.assertEqual(self.query("SELECT detector FROM incident WHERE kind = 'alarm'"),
                         [("f1-u02-heat",)])
        self.assertNotIn("walk_test", self.retained_status())

    def test_bad_requests_are_refused(self):
        self.assertIn("not a zone or detector",
                      self.gw.firegate("walk-test", "start", "floor:9", check=REFUSED).stderr)
        for duration in ("0s", "4s", "5h", "30x", "99999999999999999999h", "-5m"):
            self.assertIn("--for expects", self.gw.firegate("walk-test", "start", "--for",
                                                            duration, check=USAGE).stderr)
        self.gw.firegate("walk-test", "dance", check=USAGE)
        self.assertIn("no walk test since", self.gw.firegate("walk-test", "status",
                                                             check=OK).stdout)
        self.assertFalse(self.report()["active"])


class NoDaemon(unittest.TestCase):
    def test_without_a_daemon_it_says_so(self):
        gw = fgtest.Gateway()
        self.addCleanup(gw.cleanup)
        done = gw.firegate("walk-test", "start", check=FAILURE)
        self.assertIn("no daemon is listening", done.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
