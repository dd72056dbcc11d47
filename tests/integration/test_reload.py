#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""SIGHUP with the real daemon and broker: the config and the rules are read again without
losing state. An acknowledged alarm stays one open, acknowledged incident, its siren is not told
to stop, and a sounder added to the config sounds for it at once; the broker connection is not
dropped; a setting that needs a restart is named as such. A config or rule file with errors is
refused whole, and the daemon goes on alarming with what it had.
"""

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
from broker import Broker  # noqa: E402


class Reload(unittest.TestCase):
    def setUp(self):
        self.broker = Broker()
        self.addCleanup(self.broker.cleanup)
        self.gw = fgtest.Gateway(broker_port=self.broker.port)
        self.addCleanup(self.gw.cleanup)
        self.rules = self.gw.dir / "rules"
        shutil.copytree(fgtest.ROOT / "rules", self.rules, ignore=shutil.ignore_patterns("*.[ch]"))
        (self.rules / "50-unit-sirens.rules").write_text("[output unit-siren]\nfollows = each-unit\n")
        self.base = self.gw.config.read_text() + f"[rules]\ndir = {self.rules}\n"
        self.gw.config.write_text(self.base + "[sounder lobby]\n"
                                  "topic = zigbee2mqtt/lobby-siren/set\n")
        self.gw.firegate("import", self.gw.bundle(floors=2, units_per_floor=2), check=0)
        self.db = self.gw.state / "firegate.db"
        self.addresses = {d["detector_id"]: d["address"] for d in self.gw.json("detectors")}
        self.daemon = fgtest.Daemon(self.gw)
        self.addCleanup(self.stop_daemon)
        self.daemon.wait_for("ready")
        self.daemon.wait_for("building broker 127.0.0.1")
        self.sirens = subprocess.Popen(["mosquitto_sub", "-p", str(self.broker.port), "-v", "-t",
                                        "zigbee2mqtt/+/set"], stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.sirens.kill)
        time.sleep(0.3)

    def stop_daemon(self):
        self.assertEqual(self.daemon.stop(), 0, self.daemon.drain())

    def query(self, sql, *args):
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def heat(self, detector):
        bridge, device = self.addresses[detector].split(":", 1)
        if bridge == "tasmota":
            self.broker.publish(f"stat/{device}/RESULT", '{"Switch1":{"Action":"ON"}}')
        else:
            self.broker.publish(f"zigbee2mqtt/{device}", '{"smoke": true}')

    def reload(self, expect):
        """Sends SIGHUP; returns what the daemon said from then to @expect."""
        start = len(self.daemon.seen)
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.daemon.wait_for(expect)
        return "\n".join(self.daemon.seen[start:])

    def siren_lines(self, until, timeout=5):
        """Siren commands seen until one contains @until."""
        lines, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.sirens.stdout.readline().strip()
            lines.append(line)
            if until in line:
                return lines
        raise AssertionError(f"no siren command with {until!r}: {lines}")

    def test_state_survives_and_new_sounder_sounds(self):
        self.heat("f1-u01-heat")
        self.daemon.wait_for("alarm f1-u01-heat")
        self.siren_lines("lobby-siren")
        self.gw.firegate("ack", "building", check=0)
        self.daemon.wait_for("acknowledged")
        unit = self.query("SELECT unit FROM incident WHERE kind = 'alarm'")[0][0]
        # A sounder per flat, and a setting that only a restart applies.
        self.gw.config.write_text(
            self.base.replace("[broker]\n", "[broker]\nkeepalive_s = 45\n") +
            "[sounder lobby]\ntopic = zigbee2mqtt/lobby-siren/set\n"
            "[sounder flats]\noutput = unit-siren\ntopic = zigbee2mqtt/siren-{unit}/set\n"
            "on_payload = ON\noff_payload = OFF\n")
        said = self.reload("reloaded")
        self.assertIn("alarm of f1-u01-heat still open from before the reload, acknowledged",
                      said)
        self.assertIn("keepalive_s = 30 changed to 45: it takes effect at the next restart", said)
        restart_only = [line for line in said.splitlines() if "next restart" in line]
        self.assertEqual(len(restart_only), 1, restart_only)
        # The flat's own siren sounds at once; the lobby's is never told to stop.
        lines = self.siren_lines(f"siren-{unit}/set ON")
        self.assertFalse([line for line in lines if "lobby-siren" in line and "stop" in line],
                         lines)
        # Still one incident, still acknowledged; the connection was not dropped.
        rows = self.query("SELECT state FROM incident WHERE kind = 'alarm'")
        self.assertEqual(rows, [("acknowledged",)])
        self.assertEqual(said.count("building broker 127.0.0.1"), 0, said)
        status = self.gw.json("status", "--detectors")
        states = {d["id"]: d["state"] for d in status}
        self.assertEqual(states["f1-u01-heat"], "acknowledged")
        # The daemon answers and alarms as before.
        self.heat("f2-u01-heat")
        self.daemon.wait_for("alarm f2-u01-heat")

    def test_errors_are_refused_and_the_daemon_keeps_alarming(self):
        (self.rules / "60-broken.rules").write_text("[smoke oops]\nverification_s = forever\n")
        self.reload("reload refused: the rule files")
        (self.rules / "60-broken.rules").unlink()
        self.gw.config.write_text(self.base + "[sounder lobby]\nnot_a_key = 1\n")
        said = self.reload("reload refused")
        self.assertIn("not_a_key", said)
        self.heat("f1-u02-heat")
        self.daemon.wait_for("alarm f1-u02-heat")
        self.siren_lines("lobby-siren")
        self.assertEqual(self.daemon.proc.poll(), None)


if __name__ == "__main__":
    unittest.main(verbosity=2)
