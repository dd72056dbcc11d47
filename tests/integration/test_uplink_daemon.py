#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon between two real Mosquitto brokers on loopback: the building's (plain) and the
city platform's, which requires TLS with client certificates made by the test with openssl
and applies the ACL shipped in examples/upstream-acl.conf. A platform subscriber (its own
certificate, CN city-platform) reads everything the gateway sends and validates every payload
against the JSON Schemas in schema/uplink/ with python3-jsonschema.

Shown: alarms, statistics, heartbeats and the status arrive valid; the platform stopped for
30 s while 100 alarms are raised loses none (all arrive after it returns, in order, every id);
the gateway killed with SIGKILL between commit and PUBACK sends the alert after its restart;
the first server down, the second is used; the platform's commands act and are answered,
another account's are refused and recorded, stale and repeated ones do nothing more.
"""

import json
import queue
import sqlite3
import subprocess
import sys
import threading
import time
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
import uplink_schemas  # noqa: E402
from broker import Broker, make_client_cert  # noqa: E402

GW = "gw-test-01"
PREFIX = f"firegate/v1/{GW}/"
ACL = fgtest.ROOT / "examples" / "upstream-acl.conf"


class Platform:
    """mosquitto_sub as the platform's account: every message of the gateway, as (topic,
    payload) pairs in a queue, each payload validated against its schema on arrival."""

    def __init__(self, upstream, account="city-platform"):
        self.upstream = upstream
        self.cert = make_client_cert(upstream.dir, upstream.dir, account)
        self.q = queue.Queue()
        self.seen = []
        self.errors = []
        self.proc = subprocess.Popen(
            ["mosquitto_sub", *self.args(), "-t", f"{PREFIX}#", "-v", "-q", "1"],
            stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def args(self):
        return ["-h", "127.0.0.1", "-p", str(self.upstream.port), "--cafile",
                str(self.upstream.cafile), "--cert", str(self.cert[0]), "--key",
                str(self.cert[1])]

    def _read(self):
        for line in self.proc.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            kind = topic[len(PREFIX):].split("/")[0]
            kind = {"resp": "response"}.get(kind, kind)
            try:
                if kind != "cmd":
                    uplink_schemas.validate(kind, payload)
            except AssertionError as e:
                self.errors.append(f"{topic}: {e}")
            self.q.put((topic, json.loads(payload) if payload.startswith("{") else payload))

    def _pull(self, timeout):
        try:
            self.seen.append(self.q.get(timeout=timeout))
        except queue.Empty:
            pass

    def wait(self, pred, timeout=30, what="a message"):
        """The first message so far, or to come, that @pred accepts."""
        deadline, i = time.monotonic() + timeout, 0
        while True:
            for topic, msg in self.seen[i:]:
                if pred(topic, msg):
                    return msg
            i = len(self.seen)
            if time.monotonic() > deadline:
                raise AssertionError(f"never received {what}")
            self._pull(0.2)

    def collect(self, pred, count, timeout=60):
        """Every message so far, or to come until there are @count, that @pred accepts."""
        deadline = time.monotonic() + timeout
        while True:
            got = [m for t, m in self.seen if pred(t, m)]
            if len(got) >= count or time.monotonic() > deadline:
                return got
            self._pull(0.2)

    def command(self, verb, target, account_cert=None, account="city-platform", at=None,
                request_id=None, body=None, valid=True):
        request_id = request_id or str(uuid.uuid4())
        payload = {"request_id": request_id,
                   "at": at if at is not None else int(time.time() * 1000),
                   "operator": "duty officer 4"}
        if body is None:
            payload["target"] = str(target)
        else:
            payload.update(body)
            if valid:
                uplink_schemas.validate("query" if verb == "query" else "command", payload)
        payload = json.dumps(payload)
        args = self.args()
        if account_cert:
            args = args[:-4] + ["--cert", str(account_cert[0]), "--key", str(account_cert[1])]
        subprocess.run(["mosquitto_pub", *args, "-q", "1", "-t",
                        f"{PREFIX}cmd/{account}/{verb}", "-m", payload], check=True, timeout=10)
        return request_id

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def is_alert(event=None):
    return lambda t, m: t == PREFIX + "alert" and (event is None or m["event"] == event)


class Uplink(unittest.TestCase):
    def setUp(self):
        self.building = Broker()
        self.addCleanup(self.building.cleanup)
        self.upstream = Broker(require_certificate=True, acl_file=ACL)
        self.addCleanup(self.upstream.cleanup)
        self.platform = Platform(self.upstream)
        self.addCleanup(lambda: self.platform.stop())
        self.gw = fgtest.Gateway(extra_config=f"id = {GW}\n", broker_port=self.building.port)
        self.addCleanup(self.gw.cleanup)
        cert, key = make_client_cert(self.gw.dir, self.upstream.dir, GW)
        self.uplink_conf = (f"[uplink]\ncafile = {self.upstream.cafile}\ncertfile = {cert}\n"
                            f"keyfile = {key}\nheartbeat_s = 5\nstats_interval_s = 10\n")
        self.set_uris(f"ssl://127.0.0.1:{self.upstream.port}")
        self.gw.firegate("import", self.gw.bundle(floors=20, units_per_floor=5), check=0)
        self.daemon = None

    def replace_platform(self):
        self.platform.stop()
        self.earlier_errors = getattr(self, "earlier_errors", []) + self.platform.errors
        self.platform = Platform(self.upstream)

    def set_uris(self, uris):
        text = self.gw.config.read_text().split("[uplink]")[0]
        self.gw.config.write_text(text + self.uplink_conf + f"uris = {uris}\n")

    def start(self):
        self.daemon = fgtest.Daemon(self.gw)
        self.addCleanup(self.stop)
        self.daemon.wait_for("ready")
        # Detector messages are not retained: publish only once the daemon listens.
        self.daemon.wait_for(f"building broker 127.0.0.1:{self.building.port}: connected")
        return self.daemon

    def stop(self):
        if self.daemon and self.daemon.proc.poll() is None:
            self.assertEqual(self.daemon.stop(), 0, self.daemon.drain())

    def tearDown(self):
        self.assertEqual(getattr(self, "earlier_errors", []) + self.platform.errors, [],
                         "payloads that fail their schema")

    def heat_on(self, detector):
        """Publishes the heat alarm of @detector as its bridge would."""
        bridge, device = self.detectors[detector]["address"].split(":", 1)
        if bridge == "tasmota":
            self.building.publish(f"stat/{device}/RESULT", '{"Switch1":{"Action":"ON"}}')
        else:
            self.building.publish(f"zigbee2mqtt/{device}", '{"smoke": true}')

    def heat_off(self, detector):
        bridge, device = self.detectors[detector]["address"].split(":", 1)
        if bridge == "tasmota":
            self.building.publish(f"stat/{device}/RESULT", '{"Switch1":{"Action":"OFF"}}')
        else:
            self.building.publish(f"zigbee2mqtt/{device}", '{"smoke": false}')

    @property
    def detectors(self):
        if not hasattr(self, "_detectors"):
            self._detectors = {d["detector_id"]: d for d in self.gw.json("detectors")}
        return self._detectors

    def db(self):
        return sqlite3.connect(f"file:{self.gw.state / 'firegate.db'}?mode=ro", uri=True)

    def test_alarm_reaches_the_platform_valid_with_its_unit_and_occupancy(self):
        self.start()
        status = self.platform.wait(lambda t, m: t == PREFIX + "status", what="status")
        self.assertEqual(status["state"], "online")
        self.heat_on("f1-u02-heat")
        alert = self.platform.wait(is_alert("fire_alarm"), what="the alarm")
        unit = self.detectors["f1-u02-heat"]["unit"]
        self.assertEqual(alert["unit"]["address_id"], unit)
        self.assertEqual(alert["place"], f"unit:{unit}")
        self.assertEqual([d["id"] for d in alert["detectors"]], ["f1-u02-heat"])
        self.assertEqual(alert["verification"], "verified")
        residents = self.gw.json("residents", "--unit", unit)
        self.assertEqual(alert["occupancy"]["residents"], len(residents))
        self.assertNotIn("citizen", json.dumps(alert))
        # The building's wired call points are on a GPIO chip this machine lacks: they are in
        # fault, and their alerts go too; the fire is the one alarm.
        incidents = self.gw.json("incidents", "--kind", "alarm")
        self.assertEqual(alert["incident"], incidents[0]["id"])
        # The row is marked delivered once the platform's broker acknowledged it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.db() as db:
                pending = db.execute("SELECT count(*) FROM outbox WHERE kind = 'alert' AND "
                                     "priority = 0 AND delivered_at IS NULL").fetchone()[0]
            if pending == 0:
                break
            time.sleep(0.2)
        self.assertEqual(pending, 0)
        beat = self.platform.wait(lambda t, m: t == PREFIX + "heartbeat", what="a heartbeat")
        self.assertEqual(beat["alarms_open"], 1)
        stats = self.platform.wait(lambda t, m: t == PREFIX + "stats", what="statistics")
        self.assertEqual(stats["detectors"]["alarm"], 1)
        self.assertEqual(stats["open_incidents"]["alarm"], 1)

    def test_platform_gone_for_30_s_loses_none_of_100_alarms(self):
        self.start()
        self.platform.wait(lambda t, m: t == PREFIX + "status", what="status")
        self.upstream.stop()
        self.daemon.wait_for("uplink", timeout=20)
        heats = sorted(d for d in self.detectors if d.endswith("-heat"))[:100]
        self.assertEqual(len(heats), 100)
        for det in heats:
            self.heat_on(det)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with self.db() as db:
                queued = db.execute("SELECT count(*) FROM outbox WHERE kind = 'alert' AND "
                                    "priority = 0 AND delivered_at IS NULL").fetchone()[0]
            if queued >= 100:
                break
            time.sleep(0.2)
        self.assertEqual(queued, 100)
        time.sleep(max(0, deadline - time.monotonic()))
        self.upstream.start()
        # mosquitto_sub does not reconnect by itself: a new subscriber.
        self.replace_platform()
        alerts = self.platform.collect(is_alert("fire_alarm"), 100, timeout=60)
        self.assertEqual(len(alerts), 100)
        seqs = [a["seq"] for a in alerts]
        self.assertEqual(seqs, sorted(seqs), "alarms out of order")
        self.assertEqual(len({a["id"] for a in alerts}), 100)
        self.assertEqual(sorted(a["detectors"][0]["id"] for a in alerts), heats)

    def test_statistics_go_straight_while_the_platform_is_up_and_are_stored_while_down(self):
        self.start()
        # Up: sent without a row (the SD card is not written for them), held until the PUBACK.
        live = self.platform.wait(lambda t, m: t == PREFIX + "stats", timeout=30,
                                  what="statistics while up")
        self.assertIsNone(live["seq"])
        self.assertIs(live["stored"], False)
        with self.db() as db:
            rows = db.execute("SELECT count(*) FROM outbox WHERE kind = 'stats'").fetchone()[0]
        self.assertEqual(rows, 0, "statistics written to the store while the uplink was up")
        # Down: every report stored, and delivered with its seq once the platform is back.
        self.upstream.stop()
        self.daemon.wait_for("connection lost", timeout=20)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with self.db() as db:
                rows = db.execute("SELECT count(*) FROM outbox WHERE kind = 'stats' AND "
                                  "delivered_at IS NULL").fetchone()[0]
            if rows:
                break
            time.sleep(0.5)
        self.assertGreater(rows, 0, "statistics made while the uplink was down were not stored")
        self.upstream.start()
        self.replace_platform()
        stored = self.platform.wait(lambda t, m: t == PREFIX + "stats" and m["seq"] is not None,
                                    timeout=60, what="the statistics stored while down")
        self.assertNotIn("stored", stored)

    def test_killed_between_commit_and_puback_sends_after_restart(self):
        self.start()
        self.platform.wait(lambda t, m: t == PREFIX + "status", what="status")
        self.upstream.stop()
        self.heat_on("f1-u02-heat")
        self.daemon.wait_for("critical: alarm f1-u02-heat")
        self.daemon.proc.kill()
        self.daemon.proc.wait(timeout=10)
        self.upstream.start()
        self.replace_platform()
        self.start()
        alert = self.platform.wait(is_alert("fire_alarm"), what="the alarm after the restart")
        self.assertEqual(alert["detectors"][0]["id"], "f1-u02-heat")

    def test_first_server_down_the_second_is_used(self):
        dead = fgtest.free_port()
        self.set_uris(f"ssl://127.0.0.1:{dead} ssl://127.0.0.1:{self.upstream.port}")
        self.start()
        self.heat_on("f1-u02-heat")
        try:
            self.platform.wait(is_alert("fire_alarm"), what="the alarm through the second server")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.daemon.drain()}") from None
        status = self.gw.json("status")
        self.assertEqual(status["uplink"]["server"], f"ssl://127.0.0.1:{self.upstream.port}")

    def test_platform_commands_act_and_others_are_refused_and_recorded(self):
        self.start()
        self.platform.wait(lambda t, m: t == PREFIX + "status", what="status")
        self.heat_on("f1-u02-heat")
        alarm = self.platform.wait(is_alert("fire_alarm"), what="the alarm")
        incident = alarm["incident"]
        # Another account, under its own name (the ACL allows that much): refused, recorded.
        intruder = make_client_cert(self.gw.dir, self.upstream.dir, "intruder")
        rid = self.platform.command("ack", incident, account_cert=intruder, account="intruder")
        resp = self.platform.wait(lambda t, m: t == f"{PREFIX}resp/{rid}", what="refusal")
        self.assertEqual(resp["result"], "refused")
        self.assertIn("not the platform account", resp["reason"])
        # A stale one: refused.
        rid = self.platform.command("ack", incident, at=int(time.time() * 1000) - 600_000)
        resp = self.platform.wait(lambda t, m: t == f"{PREFIX}resp/{rid}", what="stale")
        self.assertEqual(resp["result"], "refused")
        self.assertIn("stale", resp["reason"])
        self.assertEqual(self.gw.json("incidents", "--kind", "alarm")[0]["state"], "open")
        # The platform's: acknowledged, with who.
        rid = self.platform.command("ack", incident)
        resp = self.platform.wait(lambda t, m: t == f"{PREFIX}resp/{rid}", what="the answer")
        self.assertEqual(resp["result"], "ok", resp)
        self.assertEqual(resp["incident"], incident)
        ack = self.platform.wait(is_alert("acknowledge"), what="the acknowledge alert")
        self.assertEqual(ack["by"], "platform:city-platform (duty officer 4)")
        row = self.gw.json("incidents", "--kind", "alarm")[0]
        self.assertEqual(row["state"], "acknowledged")
        self.assertEqual(row["acknowledged_by"], "platform:city-platform (duty officer 4)")
        # The same request again (at-least-once delivery): answered as before, not acted on.
        self.platform.command("ack", incident, request_id=rid)
        again = self.platform.wait(lambda t, m: t == f"{PREFIX}resp/{rid}", what="again")
        self.assertEqual(again["result"], "ok")
        # Reset from the platform, as a false alarm: the incident is closed and marked so.
        self.heat_off("f1-u02-heat")
        rid = self.platform.command("reset", incident, body={"target": str(incident),
                                                             "false_alarm": True})
        resp = self.platform.wait(lambda t, m: t == f"{PREFIX}resp/{rid}", what="the reset")
        self.assertEqual(resp["result"], "ok", resp)
        self.assertIn("1 incident marked as false alarm", resp["reason"])
        row = self.gw.json("incidents", "--kind", "alarm")[0]
        self.assertEqual(row["state"], "closed")
        self.assertEqual(row["false_alarm_by"], "platform:city-platform (duty officer 4)")
        with self.db() as db:
            rows = db.execute("SELECT account, verb, result FROM command ORDER BY id").fetchall()[:4]
        self.assertEqual(rows, [("intruder", "acknowledge", "refused"),
                                ("city-platform", "acknowledge", "refused"),
                                ("city-platform", "acknowledge", "ok"),
                                ("city-platform", "acknowledge", "ok")])
        log = self.daemon.drain()
        self.assertEqual(log.count("acknowledged by platform:city-platform"), 1, log)


    def test_the_platform_queries_the_log_page_by_page_and_is_audited(self):
        self.start()
        self.platform.wait(lambda t, m: t == PREFIX + "status", what="status")
        for det in ("f1-u01-heat", "f1-u02-heat", "f2-u01-heat"):
            self.heat_on(det)
        self.platform.collect(is_alert("fire_alarm"), 3, timeout=30)
        rid = self.platform.command("query", None, body={
            "filters": {"kind": "alarm", "floor": 1}, "page": 1, "page_size": 1})
        resp = self.platform.wait(lambda t, m: t == f"{PREFIX}resp/{rid}", what="page 1")
        self.assertEqual(resp["result"], "ok", resp)
        self.assertEqual(resp["total"], 2)
        self.assertEqual(len(resp["incidents"]), 1)
        self.assertEqual(resp["incidents"][0]["detector"], "f1-u01-heat")
        rid = self.platform.command("query", None, body={
            "filters": {"kind": "alarm", "floor": 1}, "page": 2, "page_size": 1})
        resp = self.platform.wait(lambda t, m: t == f"{PREFIX}resp/{rid}", what="page 2")
        self.assertEqual(resp["incidents"][0]["detector"], "f1-u02-heat")
        # A filter the gateway does not know: refused, and says which.
        rid = self.platform.command("query", None, body={"filters": {"colour": "red"}},
                                    valid=False)
        resp = self.platform.wait(lambda t, m: t == f"{PREFIX}resp/{rid}", what="refusal")
        self.assertEqual(resp["result"], "refused")
        self.assertIn("colour", resp["reason"])
        # Another account: refused.
        intruder = make_client_cert(self.gw.dir, self.upstream.dir, "intruder")
        rid = self.platform.command("query", None, account_cert=intruder, account="intruder",
                                    body={"filters": {}})
        resp = self.platform.wait(lambda t, m: t == f"{PREFIX}resp/{rid}", what="refusal")
        self.assertEqual(resp["result"], "refused")
        self.assertNotIn("incidents", resp)
        # The two answered queries are in the chained audit log, with who asked.
        with self.db() as db:
            rows = db.execute("SELECT who, origin, action, params FROM audit ORDER BY id").fetchall()
        self.assertEqual(rows, [
            ("platform:city-platform (duty officer 4)", "platform", "query",
             '{"floor":1,"kind":"alarm"}')] * 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
