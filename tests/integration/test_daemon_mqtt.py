#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The running daemon against a real Mosquitto broker started by the test on a free loopback
port: messages as Zigbee2MQTT and Tasmota publish them reach the rules engine and become
decisions; a device the registry lacks is heard when it reports fire; malformed messages never
crash the daemon nor raise an alarm; a broker that goes away becomes a fault of the building
broker, and the daemon reconnects and hears alarms again when it returns.
"""

import json
import os
import shutil
import tempfile
import queue
import signal
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
from broker import Broker  # noqa: E402


Daemon = fgtest.Daemon


class DaemonWithBroker(unittest.TestCase):
    def setUp(self):
        self.broker = Broker()
        self.addCleanup(self.broker.cleanup)
        self.gw = fgtest.Gateway(broker_port=self.broker.port,
                                 broker_extra="keepalive_s = 5\nfault_after_s = 10\n")
        self.addCleanup(self.gw.cleanup)
        # The building: two floors of two flats; its rules: the shipped defaults and a siren in
        # every flat, sounding for that flat's alarm only; the lobby siren sounds for any.
        rules = self.gw.dir / "rules"
        shutil.copytree(fgtest.ROOT / "rules", rules, ignore=shutil.ignore_patterns("*.[ch]"))
        (rules / "50-unit-sirens.rules").write_text(
            "[output unit-siren]\nfollows = each-unit\n")
        text = self.gw.config.read_text()
        text += (f"[rules]\ndir = {rules}\n"
                 "[sounder]\ntopic = zigbee2mqtt/lobby-siren/set\n"
                 "[sounder flats]\noutput = unit-siren\n"
                 "topic = zigbee2mqtt/siren-{floor}-{unit}/set\n"
                 "on_payload = ON\noff_payload = OFF\n")
        self.gw.config.write_text(text)
        self.gw.firegate("import", self.gw.bundle(floors=2, units_per_floor=2), check=0)
        self.daemon = Daemon(self.gw)
        self.addCleanup(self.stop_daemon)
        self.daemon.wait_for("ready")
        self.daemon.wait_for("building broker 127.0.0.1")

    def stop_daemon(self):
        self.assertEqual(self.daemon.stop(), 0, self.daemon.drain())

    def test_zigbee2mqtt_smoke_goes_through_verification_to_alarm(self):
        self.broker.publish("zigbee2mqtt/apt-1-01-smoke",
                            '{"smoke": true, "battery": 100, "linkquality": 120}')
        self.daemon.wait_for("pre-alarm f1-u01-smoke")
        # NFPA 72 verification on the shipped rules: 20 s retard + 5 s reset, and the detector
        # reports only on change, so the last known state decides.
        line = self.daemon.wait_for("critical: alarm f1-u01-smoke", timeout=40)
        self.assertIn("smoke persisted through verification", line)

    def test_tasmota_heat_detector_alarms_at_once(self):
        self.broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        self.daemon.wait_for("critical: alarm f1-u02-heat")

    def test_alarm_is_an_incident_in_the_store_and_survives_a_kill(self):
        self.broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        self.daemon.wait_for("critical: alarm f1-u02-heat")
        incidents = self.gw.json("incidents", "--kind", "alarm")
        self.assertEqual(len(incidents), 1, incidents)
        self.assertEqual(incidents[0]["detector"], "f1-u02-heat")
        self.assertEqual(incidents[0]["state"], "open")
        # Killed without a chance to clean up, as a power cut would: the alarm is still open.
        self.daemon.proc.kill()
        self.daemon.proc.wait(timeout=10)
        self.daemon = Daemon(self.gw)
        self.daemon.wait_for("alarm of f1-u02-heat still open from before the restart")
        self.daemon.wait_for("output-on building-sounder")
        self.daemon.wait_for("ready")
        incidents = self.gw.json("incidents", "--state", "open", "--kind", "alarm")
        self.assertEqual([i["detector"] for i in incidents], ["f1-u02-heat"])

    def test_alarm_sounds_the_zigbee2mqtt_siren(self):
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-t", "zigbee2mqtt/lobby-siren/set", "-C", "1", "-W", "30"],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # let the subscription reach the broker before the alarm
        self.broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        out, _ = sub.communicate(timeout=40)
        self.assertEqual(sub.returncode, 0)
        command = json.loads(out)
        self.assertEqual(command["warning"]["mode"], "fire")

    def test_each_flat_siren_sounds_for_its_own_flat_and_stops_at_silence(self):
        unit = {d["detector_id"]: d["unit"] for d in self.gw.json("detectors")}["f1-u02-heat"]
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-t", "zigbee2mqtt/+/set", "-v", "-C", "4", "-W", "30"],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        self.broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        self.daemon.wait_for("critical: alarm f1-u02-heat")
        self.daemon.wait_for("output-on unit-siren")
        status = self.gw.json("status")
        self.assertEqual(sorted(s["topic"] for s in status["sounding"]),
                         ["zigbee2mqtt/lobby-siren/set", f"zigbee2mqtt/siren-1-{unit}/set"])
        self.gw.firegate("silence", f"unit:{unit}", check=0)
        out, _ = sub.communicate(timeout=40)
        lines = sorted(out.splitlines())
        # The flat's siren and the lobby's, on then off; no other flat's siren.
        self.assertEqual(len(lines), 4, out)
        self.assertTrue(lines[0].startswith("zigbee2mqtt/lobby-siren/set "), out)
        self.assertEqual(json.loads(lines[0].split(" ", 1)[1])["warning"]["mode"], "fire")
        self.assertEqual(json.loads(lines[1].split(" ", 1)[1])["warning"]["mode"], "stop")
        self.assertEqual(lines[2:], [f"zigbee2mqtt/siren-1-{unit}/set OFF",
                                     f"zigbee2mqtt/siren-1-{unit}/set ON"])
        self.assertEqual(self.gw.json("status")["sounding"], [])

    def test_desk_acknowledges_silences_and_resets_through_the_control_socket(self):
        self.broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        self.daemon.wait_for("critical: alarm f1-u02-heat")
        incident = self.gw.json("incidents", "--kind", "alarm")[0]
        done = self.gw.firegate("ack", str(incident["id"]), check=0)
        self.assertIn("by uid", done.stdout)
        self.daemon.wait_for("acknowledged by uid")
        after = self.gw.json("incidents", "--kind", "alarm")[0]
        self.assertEqual(after["state"], "acknowledged")
        self.assertIn("uid", after["acknowledged_by"])
        self.gw.firegate("silence", "building", check=0)
        self.daemon.wait_for("output-off building-sounder")
        # The heat contact opens again, so the reset ends the alarm (with it still closed, the
        # reset would give a new alarm: the engine's own tests show that).
        self.broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"OFF"}}')
        self.gw.firegate("reset", str(incident["id"]), check=0)
        self.daemon.wait_for("reset by uid")
        closed = self.gw.json("incidents", "--kind", "alarm")[0]
        self.assertEqual(closed["state"], "closed")
        self.assertIn("no open incident", self.gw.firegate("ack", "99999", check=3).stderr)
        self.assertIn("not a zone", self.gw.firegate("ack", "floor:77", check=3).stderr)

    def test_esphome_heat_detector_alarms_at_once(self):
        self.broker.publish("carpark-b1/binary_sensor/heat_01/state", "ON", retain=True)
        self.daemon.wait_for("critical: alarm b1-carpark-heat01")

    def test_unknown_device_reporting_fire_is_raised_marked(self):
        self.broker.publish("zigbee2mqtt/guest-room-smoke", '{"smoke": true}')
        line = self.daemon.wait_for("critical: alarm zigbee2mqtt:guest-room-smoke")
        self.assertIn("unknown_detector", line)

    def test_malformed_messages_never_crash_nor_alarm_and_are_counted_per_detector(self):
        # Every kind, 208 messages in all, as a flood from one detector: malformed JSON, the
        # wrong shape, a duplicate key, binary garbage, oversized; values of the wrong type
        # (passed on as invalid data, so they are readings); a message on a topic no detector
        # publishes on, and one from a device the registry does not know.
        refused = ['{"smoke": tru', "[1,2,3]", "\x01\x02\x7f", '{"smoke": true, "smoke": false}']
        invalid = ['{"smoke": "maybe"}', '{"temperature": "hot"}']
        rounds = 26
        for _ in range(rounds):
            for payload in refused + invalid + ["x" * 20000]:
                self.broker.publish("zigbee2mqtt/apt-1-01-smoke", payload, qos=1)
            self.broker.publish("zigbee2mqtt/bridge/logging", '{"level": "info"}', qos=1)
        self.broker.publish("zigbee2mqtt/apt-1-01-smoke", '{"smoke": false}')
        deadline = time.monotonic() + 20
        while True:
            status = self.gw.json("status", "--detectors")
            if sum(d["readings"] + d["refused"] for d in status
                   if d["id"] == "f1-u01-smoke") >= rounds * 7 + 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        log = self.daemon.drain()
        self.assertIsNone(self.daemon.proc.poll(), log)
        self.assertNotIn("critical: alarm", log)
        self.assertIn("refused", log)
        det = {d["id"]: d for d in status}["f1-u01-smoke"]
        self.assertEqual(det["refused"], rounds * 5, det)
        self.assertIn("cap", det["why"])
        self.assertEqual(det["readings"], rounds * len(invalid) + 1, det)
        whole = self.gw.json("status")
        self.assertEqual(whole["messages"]["malformed"], rounds * len(refused), whole)
        self.assertEqual(whole["messages"]["oversize"], rounds, whole)
        self.assertGreaterEqual(whole["messages"]["received"], rounds * 8 + 1, whole)
        # The invalid data persisted: a fault of that detector, never an alarm.
        self.assertEqual(whole["detectors_by_state"]["alarm"], 0, whole)
        table = self.gw.firegate("status", "--detectors", check=0).stdout
        self.assertRegex(table, r"f1-u01-smoke .* 130 ")


    def test_broker_gap_is_a_fault_and_alarms_are_heard_after_it_returns(self):
        self.broker.stop()
        self.daemon.wait_for("connection lost")
        self.daemon.wait_for("fault offline in building", timeout=30)
        self.broker.start()
        self.daemon.wait_for("building broker is reachable again", timeout=60)
        self.broker.publish("stat/apt_2_01_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        self.daemon.wait_for("critical: alarm f2-u01-heat")

    def test_silent_broker_is_a_fault_counted_from_when_it_was_last_heard(self):
        # SIGSTOP keeps the broker's sockets open and answers nothing, as a hung or powered-off
        # broker host would: only the keep-alive (5 s here) can tell. The gap is counted from
        # the last thing read, so the fault comes within 2.5 keep-alives (12.5 s) of it, not
        # fault_after_s (10 s) after the keep-alive gave up, up to 22.5 s.
        self.broker.proc.send_signal(signal.SIGSTOP)
        self.addCleanup(self.broker.proc.send_signal, signal.SIGCONT)
        stopped = time.monotonic()
        self.daemon.wait_for("connection lost", timeout=30)
        self.daemon.wait_for("fault offline in building", timeout=30)
        took = time.monotonic() - stopped
        print(f"fault {took:.1f} s after the broker fell silent", file=sys.stderr)
        self.assertLess(took, 15.5, f"the fault came {took:.1f} s after the broker fell silent")
        self.broker.proc.send_signal(signal.SIGCONT)
        self.daemon.wait_for("building broker is reachable again", timeout=60)
        self.broker.publish("stat/apt_2_01_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        self.daemon.wait_for("critical: alarm f2-u01-heat")


class DaemonWithPasswordBroker(unittest.TestCase):
    """A building broker that takes only known users: the daemon logs in with the configured
    user name and password and hears alarms; with a wrong password it is refused and says so."""

    def run_daemon(self, password):
        broker = Broker(users={"firegate": "s3cret-test-only"})
        self.addCleanup(broker.cleanup)
        gw = fgtest.Gateway(broker_port=broker.port,
                            broker_extra=f"username = firegate\npassword = {password}\n")
        self.addCleanup(gw.cleanup)
        gw.firegate("import", gw.bundle(floors=2, units_per_floor=2), check=0)
        daemon = Daemon(gw)
        self.addCleanup(daemon.stop)
        daemon.wait_for("ready")
        return broker, daemon

    def test_alarm_heard_with_the_configured_credentials(self):
        broker, daemon = self.run_daemon("s3cret-test-only")
        daemon.wait_for(f"building broker 127.0.0.1:{broker.port}: connected")
        broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        daemon.wait_for("critical: alarm f1-u02-heat")

    def test_wrong_password_is_refused_and_said(self):
        _, daemon = self.run_daemon("wrong")
        line = daemon.wait_for("building broker 127.0.0.1")
        self.assertNotIn("connected,", line)
        self.assertRegex(line, "(?i)not authori[sz]ed|refused|password")


class DaemonWithTlsBroker(unittest.TestCase):
    """The building broker over TLS: the daemon checks the broker's certificate against the
    configured CA and hears alarms through it."""

    def test_alarm_heard_over_tls(self):
        broker = Broker(tls=True)
        self.addCleanup(broker.cleanup)
        gw = fgtest.Gateway(broker_port=broker.port, broker_extra=f"cafile = {broker.cafile}\n")
        self.addCleanup(gw.cleanup)
        gw.firegate("import", gw.bundle(floors=2, units_per_floor=2), check=0)
        daemon = Daemon(gw)
        self.addCleanup(daemon.stop)
        daemon.wait_for("ready")
        daemon.wait_for(f"building broker 127.0.0.1:{broker.port}: connected")
        broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
        daemon.wait_for("critical: alarm f1-u02-heat")

    def test_broker_with_an_untrusted_certificate_is_refused(self):
        broker = Broker(tls=True)
        self.addCleanup(broker.cleanup)
        other = Path(tempfile.mkdtemp(prefix="firegate-otherca-"))
        self.addCleanup(shutil.rmtree, other, True)
        from broker import make_ca_and_server_cert
        wrong_ca = make_ca_and_server_cert(other)
        gw = fgtest.Gateway(broker_port=broker.port, broker_extra=f"cafile = {wrong_ca}\n")
        self.addCleanup(gw.cleanup)
        daemon = Daemon(gw)
        self.addCleanup(daemon.stop)
        daemon.wait_for("ready")
        time.sleep(3)
        log = daemon.drain()
        self.assertNotIn("connected,", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
