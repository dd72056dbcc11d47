#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Fault injection: the real daemon between two real Mosquitto brokers on loopback (the
building's, plain; the city platform's, TLS with client certificates and the shipped ACL), on
real SQLite files, while things break under it (docs/faults.md):

- SIGKILL at random moments while heat alarms flow, then a restart, again and again: every
  alarm committed in the store reaches the platform (at least once), in seq order per priority,
  every alarm the journal said was raised is in the store, and the hash chain still verifies;
- the building broker killed: a fault of the building broker after fault_after_s, a reconnect
  with the subscriptions renewed, alarms heard again, the fault restored;
- the platform's broker stopped: the alarms raised meanwhile wait in the outbox and all arrive,
  in order, once it is back;
- the state directory on a full file system: the daemon keeps running, sounds the siren, says
  what it could not store, tells the platform as soon as it is reachable, and once space
  returns writes the alarm raised meanwhile into the log at its own time;
- a damaged database: start refused, the damaged file left as it was, and the recovery that
  docs/store.md describes gives a store the daemon runs on.

The default run is bounded to a few minutes; FIREGATE_SOAK=1 (./scripts/test --soak) runs the
long versions: 100 kills and a 10-minute outage of the platform's broker. The kill schedule is
drawn from a seeded generator whose seed is printed; FIREGATE_FAULTS_SEED=N replays it.
FIREGATE_FAULTS_DISK=rlimit fills the "disk" with RLIMIT_FSIZE instead of a tmpfs mount (what
the test falls back to where mounting is not allowed).
"""

import errno
import hashlib
import json
import os
import queue
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
import uplink_schemas  # noqa: E402
from broker import Broker, make_client_cert  # noqa: E402

SOAK = os.environ.get("FIREGATE_SOAK") == "1"
KILLS = 100 if SOAK else 22
OUTAGE_S = 600 if SOAK else 20
OUTAGE_ALARMS = 100 if SOAK else 10
FAULT_AFTER_S = 10
# The whole file's budget: a hang fails with this said, rather than at ctest's TIMEOUT.
BUDGET_S = 2400 if SOAK else 300

GW = "gw-faults-01"
PREFIX = f"firegate/v1/{GW}/"
ACL = fgtest.ROOT / "examples" / "upstream-acl.conf"
ALARM_LINE = re.compile(r": critical: alarm (\S+) in ")
RECOVERY = "Recovering a damaged store"


def say(text):
    """A figure for the person reading the run (ctest -V, or the output of a failure)."""
    print(f"faults: {text}", flush=True)


def keep_sessions(broker):
    """Restarts @broker with persistence on: a subscriber's session (-c) and the messages
    queued for it survive a stop and start, as on a platform's production broker."""
    text = broker.conf.read_text().replace(
        "persistence false\n", f"persistence true\npersistence_location {broker.dir}/\n")
    broker.conf.write_text(text)
    broker.stop()
    broker.start()


class Platform:
    """mosquitto_sub as the platform's account with a persistent session: it reconnects by
    itself when the broker returns, and what the gateway sent meanwhile is queued for it. Every
    payload is checked against its JSON Schema on arrival; arrivals are kept in order."""

    def __init__(self, upstream):
        self.cert = make_client_cert(upstream.dir, upstream.dir, "city-platform")
        self.seen = []
        self.errors = []
        self.proc = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(upstream.port), "--cafile",
             str(upstream.cafile), "--cert", str(self.cert[0]), "--key", str(self.cert[1]),
             "-c", "-i", "faults-platform", "-q", "1", "-v", "-t", f"{PREFIX}#"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

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
            try:
                self.seen.append((topic, json.loads(payload)))
            except ValueError:
                self.seen.append((topic, payload))

    def alerts(self):
        return [m for t, m in list(self.seen) if t == PREFIX + "alert"]

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.alerts():
                if pred(m):
                    return m
            time.sleep(0.1)
        raise AssertionError(f"the platform never received {what}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.thread.join(timeout=10)
        self.proc.stdout.close()


class Daemon:
    """firegate run with its journal (stderr) kept whole: a thread reads it into a list, so the
    lines written just before a SIGKILL are all there once the process is gone."""

    def __init__(self, gw, ignore_sigxfsz=False):
        # A write past RLIMIT_FSIZE raises SIGXFSZ, which kills by default; ignored, the write
        # fails with EFBIG as a full disk fails with ENOSPC. An ignored signal stays ignored
        # across exec.
        pre = (lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN)) if ignore_sigxfsz else None
        self.proc = subprocess.Popen([fgtest.BIN, "--config", str(gw.config), "run"],
                                     stderr=subprocess.PIPE, text=True, errors="backslashreplace",
                                     preexec_fn=pre)
        self.lines = []
        self.pos = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, needle, timeout=20, since=None):
        """The first line that holds @needle after the last match (or from line @since)."""
        deadline = time.monotonic() + timeout
        start = self.pos if since is None else since
        while True:
            lines = self.lines[start:]
            for i, line in enumerate(lines):
                if needle in line:
                    self.pos = max(self.pos, start + i + 1)
                    return line
            if time.monotonic() > deadline or (self.proc.poll() is not None and
                                               not self.thread.is_alive()):
                raise AssertionError(f"never saw {needle!r}; the daemon said:\n" + self.tail())
            time.sleep(0.05)

    def tail(self, n=40):
        return "\n".join(self.lines[-n:])

    def text(self):
        return "\n".join(self.lines)

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.thread.join(timeout=10)
        self.proc.stderr.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.thread.join(timeout=10)
        self.proc.stderr.close()
        return code


def remaining_length(n):
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (128 if n else 0))
        if not n:
            return bytes(out)


class Publisher:
    """A bridge's side of the building broker: MQTT 3.1.1 over one TCP connection, each message
    at QoS 1 and its PUBACK awaited (the broker has it), reconnecting after a broker restart.
    Small enough to write here; a process per message would cost the daemons their CPU."""

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.packet_id = 0

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            data += chunk
        return data

    def _packet(self):
        kind = self._read(1)[0]
        length, shift = 0, 0
        while True:
            byte = self._read(1)[0]
            length |= (byte & 127) << shift
            shift += 7
            if not byte & 128:
                break
        return kind, self._read(length)

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        client = f"faults-bridge-{os.getpid()}".encode()
        body = (b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(client)) + client)
        self.sock.sendall(b"\x10" + remaining_length(len(body)) + body)
        kind, data = self._packet()
        if kind != 0x20 or data[1] != 0:
            raise ConnectionError(f"CONNACK {data!r}")

    def publish(self, topic, payload):
        for attempt in range(2):
            try:
                if self.sock is None:
                    self._connect()
                self.packet_id = self.packet_id % 65535 + 1
                t, p = topic.encode(), payload.encode()
                body = struct.pack("!H", len(t)) + t + struct.pack("!H", self.packet_id) + p
                self.sock.sendall(b"\x32" + remaining_length(len(body)) + body)
                kind, data = self._packet()
                if kind >> 4 != 4:
                    raise ConnectionError(f"expected a PUBACK, got packet type {kind >> 4}")
                return
            except OSError:
                self.close()
                if attempt:
                    raise

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None


class FullDisk:
    """The state directory on a small file system that the test fills and empties.

    tmpfs: a mount of its own under the test's directory, filled with a filler file (ENOSPC,
    which SQLite reports as SQLITE_FULL). rlimit, where mounting is not allowed or
    FIREGATE_FAULTS_DISK=rlimit asks for it: the daemon's RLIMIT_FSIZE lowered to the size of
    its WAL (prlimit), so every write past it fails with EFBIG (SQLite: a disk I/O error)."""

    def __init__(self, test, path, size_mb=8):
        self.path = Path(path)
        self.path.mkdir(parents=True)
        self.filler = None
        self.mode = os.environ.get("FIREGATE_FAULTS_DISK", "tmpfs")
        if self.mode == "tmpfs":
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700",
                                   "firegate-faults", str(self.path)],
                                  capture_output=True, text=True, timeout=30)
            if done.returncode == 0:
                test.addCleanup(self.unmount)
            else:
                say(f"full disk: cannot mount a tmpfs ({done.stderr.strip()}); "
                    "using RLIMIT_FSIZE instead")
                self.mode = "rlimit"
        say(f"full disk: {self.mode}")

    def unmount(self):
        if subprocess.run(["umount", str(self.path)], capture_output=True,
                          timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30)

    def fill(self, daemon):
        if self.mode == "rlimit":
            wal = self.path / "firegate.db-wal"
            limit = max(wal.stat().st_size if wal.exists() else 0, 1)
            resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE,
                             (limit, resource.RLIM_INFINITY))
            return
        self.filler = self.path / "filler"
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for chunk in (1 << 20, 4096, 512, 1):
                while True:
                    try:
                        os.write(fd, b"\0" * chunk)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        st = os.statvfs(self.path)
        say(f"full disk: {st.f_bavail * st.f_frsize} bytes left for the daemon")

    def free(self, daemon):
        if self.mode == "rlimit":
            resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            return
        self.filler.unlink()


class Faults(unittest.TestCase):
    """Both brokers, the platform's subscriber and a gateway of 10 floors of 10 flats (100
    heat detectors), with its shipped rules, a siren in every flat and one in the lobby."""

    def setUp(self):
        self.started = time.monotonic()
        self.building = Broker()
        self.addCleanup(self.building.cleanup)
        self.upstream = Broker(require_certificate=True, acl_file=ACL)
        self.addCleanup(self.upstream.cleanup)
        keep_sessions(self.upstream)
        self.platform = Platform(self.upstream)
        self.addCleanup(self.platform.stop)
        self.gw = fgtest.Gateway(extra_config=f"id = {GW}\n", broker_port=self.building.port,
                                 broker_extra=f"keepalive_s = 5\nfault_after_s = {FAULT_AFTER_S}\n")
        self.addCleanup(self.gw.cleanup)
        self.db_path = self.gw.state / "firegate.db"
        self.daemons = []

    def configure(self):
        """The rest of the config and the registry; after setUp so that a test can put the
        state directory on a file system of its own first."""
        cert, key = make_client_cert(self.gw.dir, self.upstream.dir, GW)
        rules = self.gw.dir / "rules"
        shutil.copytree(fgtest.ROOT / "rules", rules, ignore=shutil.ignore_patterns("*.[ch]"))
        (rules / "50-unit-sirens.rules").write_text("[output unit-siren]\nfollows = each-unit\n")
        self.gw.config.write_text(
            self.gw.config.read_text() +
            f"[rules]\ndir = {rules}\n"
            "[sounder]\ntopic = zigbee2mqtt/lobby-siren/set\n"
            "[sounder flats]\noutput = unit-siren\ntopic = zigbee2mqtt/siren-{floor}-{unit}/set\n"
            "on_payload = ON\noff_payload = OFF\n"
            f"[uplink]\nuris = ssl://127.0.0.1:{self.upstream.port}\n"
            f"cafile = {self.upstream.cafile}\ncertfile = {cert}\nkeyfile = {key}\n")
        self.bundle = self.gw.bundle(floors=10, units_per_floor=10)
        self.gw.firegate("import", self.bundle, check=0)
        self.detectors = {d["detector_id"]: d for d in self.gw.json("detectors")}
        # The flats' heat detectors: Tasmota or Zigbee2MQTT, each alarms at once.
        self.heats = sorted(d for d in self.detectors if re.fullmatch(r"f\d+-u\d+-heat", d))
        self.assertEqual(len(self.heats), 100)

    def tearDown(self):
        self.assertEqual(self.platform.errors, [], "payloads that fail their schema")
        for d in self.daemons:
            why = fgtest.sanitizer_report(d.text(), d.proc.returncode)
            self.assertIsNone(why, f"a sanitizer reported a bug in the daemon: {why}\n"
                                   + d.tail(80))
        say(f"{self.id().split('.')[-1]}: {time.monotonic() - self.started:.1f} s")

    # --- the pieces ---

    def start(self, ready=True, ignore_sigxfsz=False):
        daemon = Daemon(self.gw, ignore_sigxfsz=ignore_sigxfsz)
        self.daemons.append(daemon)
        self.addCleanup(self.stop_quietly, daemon)
        if ready:
            daemon.wait_for("ready")
            # Detector messages are not retained: publish only once the daemon listens.
            daemon.wait_for(f"building broker 127.0.0.1:{self.building.port}: connected")
        return daemon

    @staticmethod
    def stop_quietly(daemon):
        if daemon.alive():
            daemon.stop()

    def stop(self, daemon):
        self.assertEqual(daemon.stop(), 0, daemon.tail(60))

    def message(self, detector, on):
        """The topic and payload with which @detector's bridge reports heat (or its end)."""
        bridge, device = self.detectors[detector]["address"].split(":", 1)
        if bridge == "tasmota":
            return (f"stat/{device}/RESULT",
                    '{"Switch1":{"Action":"%s"}}' % ("ON" if on else "OFF"))
        self.assertEqual(bridge, "zigbee2mqtt")
        return f"zigbee2mqtt/{device}", '{"smoke": %s}' % ("true" if on else "false")

    def heat_on(self, detector):
        self.building.publish(*self.message(detector, True))

    def query(self, sql, *args):
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def wait_delivered(self, timeout):
        """Until no alert waits in the outbox and the platform holds every one."""
        deadline = time.monotonic() + timeout
        while True:
            pending = self.query("SELECT count(*) FROM outbox WHERE kind = 'alert' AND "
                                 "delivered_at IS NULL")[0][0]
            ids = {r[0] for r in self.query("SELECT id FROM outbox WHERE kind = 'alert'")}
            missing = ids - {a["id"] for a in self.platform.alerts()}
            if not pending and not missing:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"after {timeout} s, {pending} alerts still pending in the "
                                     f"outbox and {len(missing)} never received upstream")
            time.sleep(0.3)

    def check_delivery(self, alerts=None):
        """Every alert of the outbox received at least once, nothing received that the store
        lacks, first arrivals in seq order within each priority. Alerts sent without being
        stored (a full disk; "stored": false, no seq) are left out. Returns (received,
        duplicates)."""
        alerts = self.platform.alerts() if alerts is None else alerts
        alerts = [a for a in alerts if a.get("stored", True) is not False]
        rows = {r[0]: (r[1], r[2]) for r in
                self.query("SELECT id, seq, priority FROM outbox WHERE kind = 'alert'")}
        received = [a["id"] for a in alerts]
        self.assertEqual(set(rows) - set(received), set(), "alerts in the outbox never received")
        strays = [a for a in alerts if a["id"] not in rows]
        self.assertEqual(strays, [], "alerts received upstream that the store does not have")
        firsts, seen = [], set()
        for a in alerts:
            if a["id"] not in seen:
                seen.add(a["id"])
                firsts.append(a)
                self.assertEqual(a["seq"], rows[a["id"]][0], "an alert's seq is not its row's")
        for priority in (0, 1):
            seqs = [a["seq"] for a in firsts if rows[a["id"]][1] == priority]
            self.assertEqual(seqs, sorted(seqs), f"priority {priority} alerts out of seq order")
        return len(received), len(received) - len(seen)

    def verify_log(self):
        done = self.gw.firegate("verify-log")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done.stdout.splitlines()[0]


class AlarmFlow(threading.Thread):
    """Heat alarms at a steady rate on the building broker, one flat's detector after another,
    in rounds of 25 flats (a quarter of the building, the next quarter each round): when a
    round's detectors have all alarmed, they report their end and the building is reset through
    the daemon's control socket (tried again until a daemon answers). A round closes 25
    incidents at once: large enough to be killed in the middle of, small enough that the resets
    do not crowd the alarms out. Messages published while the daemon is down are lost, as a
    bridge's unretained ones are."""

    ROUND = 25

    def __init__(self, test, interval, seed):
        super().__init__(daemon=True)
        self.test = test
        self.interval = interval
        self.rng = random.Random(seed)
        self.halt = threading.Event()
        self.published = self.rounds = self.resets = 0
        self.error = None

    def run(self):
        pub = Publisher(self.test.building.port)
        try:
            while not self.halt.is_set():
                first = self.rounds * self.ROUND % len(self.test.heats)
                flats = self.test.heats[first:first + self.ROUND]
                for det in flats:
                    if self.halt.is_set():
                        return
                    pub.publish(*self.test.message(det, True))
                    self.published += 1
                    self.halt.wait(self.interval * self.rng.uniform(0.5, 1.5))
                for det in flats:
                    pub.publish(*self.test.message(det, False))
                while not self.halt.is_set():
                    done = self.test.gw.firegate("reset", "building", timeout=30)
                    if done.returncode in (0, 3):  # reset, or nothing left to reset
                        self.resets += 1
                        break
                    self.halt.wait(0.2)
                self.rounds += 1
        except Exception as e:  # said by the test, not lost with the thread
            self.error = e
        finally:
            pub.close()

    def stop(self):
        self.halt.set()
        self.join(timeout=60)


class KilledAtRandom(Faults):
    def test_sigkill_at_random_moments_loses_no_committed_alarm(self):
        self.configure()
        seed = int(os.environ.get("FIREGATE_FAULTS_SEED", random.randrange(1 << 32)))
        say(f"kills: seed {seed} (FIREGATE_FAULTS_SEED={seed} replays this schedule)")
        rng = random.Random(seed)
        t0 = time.monotonic()
        flow = AlarmFlow(self, interval=0.08, seed=seed + 1)
        flow.start()
        early = 0
        for k in range(KILLS):
            daemon = self.start(ready=False)
            # One kill in five lands in the start (migrations, the integrity check, the
            # restore of open alarms, the outbox sent again); the others while alarms flow.
            if rng.random() < 0.2:
                delay = rng.uniform(0.0, 0.25)
                early += 1
            else:
                delay = rng.uniform(0.25, 1.5)
            time.sleep(delay)
            self.assertTrue(daemon.alive(), f"the daemon died by itself before kill {k + 1}:\n"
                            + daemon.tail())
            daemon.kill()
            time.sleep(rng.uniform(0.0, 0.2))
        flow.stop()
        if flow.error:
            raise flow.error
        kill_s = time.monotonic() - t0
        # Both brokers up, one more start: everything committed must now reach the platform.
        daemon = self.start()
        self.wait_delivered(timeout=120)
        self.stop(daemon)
        received, duplicates = self.check_delivery()

        # Every alarm incident of the store reached the platform as a fire alarm about it.
        incidents = {r[0] for r in self.query("SELECT id FROM incident WHERE kind = 'alarm'")}
        told = {a["incident"] for a in self.platform.alerts() if a["event"] == "fire_alarm"}
        self.assertEqual(incidents - told, set(), "alarm incidents never told to the platform")
        # Every alarm the journal said was raised is in the store, as often as it was said (a
        # kill between the commit and the journal line can only make the store hold more).
        logged = {}
        for d in self.daemons:
            for line in d.lines:
                m = ALARM_LINE.search(line)
                if m:
                    logged[m.group(1)] = logged.get(m.group(1), 0) + 1
        stored = dict(self.query("SELECT detector, count(*) FROM incident_event WHERE "
                                 "decision = 'alarm' GROUP BY detector"))
        self.assertGreater(sum(logged.values()), KILLS, "too few alarms raised between the "
                                                        "kills for the run to show anything")
        lost = {d: (n, stored.get(d, 0)) for d, n in logged.items() if stored.get(d, 0) < n}
        self.assertEqual(lost, {}, "alarms logged as raised but missing from the store "
                                   "(detector: (logged, stored))")
        chain = self.verify_log()
        fire = sum(1 for a in self.platform.alerts() if a["event"] == "fire_alarm")
        say(f"kills: {KILLS} SIGKILLs ({early} during start-up) in {kill_s:.1f} s; "
            f"{flow.published} alarms published in {flow.rounds} rounds ({flow.resets} resets); "
            f"{sum(logged.values())} raised in the journal, {sum(stored.values())} alarm events "
            f"and {len(incidents)} alarm incidents in the store; {received} alerts received "
            f"({fire} fire alarms), {duplicates} duplicates; verify-log: {chain}")


class BuildingBrokerKilled(Faults):
    def test_building_broker_killed_is_a_fault_then_heard_again_after_its_restart(self):
        self.configure()
        daemon = self.start()
        self.heat_on("f1-u01-heat")
        daemon.wait_for("critical: alarm f1-u01-heat")
        killed = time.monotonic()
        self.building.proc.kill()  # SIGKILL: no goodbye to its clients
        self.building.proc.wait(timeout=10)
        daemon.wait_for("building broker 127.0.0.1:%d: connection lost" % self.building.port)
        line = daemon.wait_for("fault offline in building", timeout=FAULT_AFTER_S + 10)
        after = time.monotonic() - killed
        self.assertIn("the building broker is unreachable", line)
        self.assertGreaterEqual(after, FAULT_AFTER_S - 0.5, "the fault came before fault_after_s")
        mark = len(daemon.lines)
        self.building.start()
        # Reconnected, and subscribed again (each bridge's topics on every connection).
        line = daemon.wait_for(f"building broker 127.0.0.1:{self.building.port}: connected",
                               timeout=60, since=mark)
        self.assertRegex(line, r"connected, [1-9]\d* subscriptions")
        daemon.wait_for("restore offline in building: the building broker is reachable again",
                        timeout=10, since=mark)
        back = time.monotonic() - killed
        self.heat_on("f2-u02-heat")
        daemon.wait_for("critical: alarm f2-u02-heat")
        # The fault is an incident, closed once the broker was back, and the platform heard both.
        rows = self.query("SELECT state, fault, detector FROM incident WHERE kind = 'fault' AND "
                          "place = 'building'")
        self.assertEqual(rows, [("closed", "offline", None)])
        for event in ("fault", "restore"):
            self.platform.wait(lambda a, e=event: a["event"] == e and a["place"] == "building",
                               timeout=30, what=f"the building broker's {event}")
        self.platform.wait(lambda a: a["event"] == "fire_alarm" and
                           a["detectors"][0]["id"] == "f2-u02-heat", timeout=30,
                           what="the alarm raised after the broker's return")
        self.stop(daemon)
        say(f"building broker: fault raised {after:.1f} s after the kill, back and subscribed "
            f"{back:.1f} s after it")


class UpstreamUnreachable(Faults):
    def test_alarms_raised_while_the_platform_is_unreachable_all_arrive_in_order(self):
        self.configure()
        daemon = self.start()
        daemon.wait_for(f"uplink ssl://127.0.0.1:{self.upstream.port}: connected", since=0)
        self.upstream.stop()
        down = time.monotonic()
        daemon.wait_for(f"uplink ssl://127.0.0.1:{self.upstream.port}: connection lost")
        raised = self.heats[:OUTAGE_ALARMS]
        for i, det in enumerate(raised):
            # Spread over the outage, as fires come.
            time.sleep(max(0.0, down + (i + 0.5) * OUTAGE_S / len(raised) - time.monotonic()))
            self.heat_on(det)
            daemon.wait_for(f"critical: alarm {det} ")
        # All kept: one pending fire alarm row each, in the store.
        queued = self.query("SELECT count(*) FROM outbox WHERE kind = 'alert' AND priority = 0 "
                            "AND delivered_at IS NULL")[0][0]
        self.assertEqual(queued, len(raised))
        time.sleep(max(0.0, down + OUTAGE_S - time.monotonic()))
        outage = time.monotonic() - down
        self.upstream.start()
        up = time.monotonic()
        # The uplink retries with back-off up to 60 s (docs/uplink.md).
        self.wait_delivered(timeout=120)
        caught_up = time.monotonic() - up
        received, duplicates = self.check_delivery()
        fire = [a for a in self.platform.alerts() if a["event"] == "fire_alarm"]
        self.assertEqual(sorted({a["detectors"][0]["id"] for a in fire}), sorted(raised))
        self.stop(daemon)
        say(f"upstream: down {outage:.0f} s, {queued} alarms kept in the outbox meanwhile, all "
            f"received {caught_up:.1f} s after its return ({received} alerts, {duplicates} "
            "duplicates)")


class DiskFull(Faults):
    def test_full_disk_still_sounds_says_what_was_not_stored_and_recovers(self):
        disk = FullDisk(self, self.gw.state)
        self.configure()
        sirens = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p",
                                   str(self.building.port), "-t", "zigbee2mqtt/+/set", "-v"],
                                  stdout=subprocess.PIPE, text=True)
        commands = queue.Queue()
        watcher = threading.Thread(target=lambda: [commands.put(x.strip()) for x in sirens.stdout],
                                   daemon=True)
        watcher.start()
        self.addCleanup(sirens.stdout.close)
        self.addCleanup(watcher.join, 10)
        self.addCleanup(sirens.wait, 10)
        self.addCleanup(sirens.terminate)
        time.sleep(0.3)  # the siren watcher subscribed before anything sounds

        def siren(det, timeout=20):
            floor = re.match(r"f(\d+)-", det).group(1)
            topic = f"zigbee2mqtt/siren-{floor}-{self.detectors[det]['unit']}/set"
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    if commands.get(timeout=0.2) == f"{topic} ON":
                        return
                except queue.Empty:
                    pass
            raise AssertionError(f"the siren of {det}'s flat never got ON on {topic}")

        daemon = self.start(ignore_sigxfsz=disk.mode == "rlimit")
        before, during, after = "f1-u01-heat", "f3-u03-heat", "f5-u05-heat"
        self.heat_on(before)
        daemon.wait_for(f"critical: alarm {before} ")
        siren(before)
        self.wait_delivered(timeout=30)
        kept = self.query("SELECT * FROM incident ORDER BY id")
        kept_outbox = self.query("SELECT id, seq, payload FROM outbox WHERE kind = 'alert' "
                                 "ORDER BY seq")

        disk.fill(daemon)
        filled_ms = int(time.time() * 1000)
        # The platform's broker goes too: the unstored alert waits in memory for it.
        self.upstream.stop()
        daemon.wait_for(f"uplink ssl://127.0.0.1:{self.upstream.port}: connection lost")
        mark = len(daemon.lines)
        self.heat_on(during)
        alarm = daemon.wait_for(f"critical: alarm {during} ")
        siren(during)
        time.sleep(1)
        self.assertTrue(daemon.alive(), "the daemon died on a full disk:\n" + daemon.tail())
        journal = daemon.lines[mark:]
        said = [x for x in journal if "could not be stored" in x]
        self.assertTrue(said, "nothing said about the decision that could not be stored:\n"
                        + "\n".join(journal))
        if disk.mode == "tmpfs":
            self.assertTrue(any("database or disk is full" in x for x in journal),
                            "\n".join(journal))
        # Retries are spaced: a full disk must not fill the journal (on the same disk) too.
        self.assertLess(len(journal), 20, "\n".join(journal[:40]))
        self.assertEqual(self.query("SELECT count(*) FROM incident_detector WHERE detector = ?",
                                    during)[0][0], 0, "stored on a full disk?")
        status = self.gw.json("status")
        self.assertTrue(status["building_broker"]["connected"], status)
        self.assertGreater(status["unstored_decisions"], 0, status)
        # The platform is told all the same (docs/uplink.md), marked unstored, as soon as it
        # is reachable again.
        self.upstream.start()
        unstored = self.platform.wait(
            lambda a: a["event"] == "fire_alarm" and a["detectors"][0]["id"] == during,
            timeout=20, what=f"the alarm of {during}, raised while the disk was full")
        self.assertIs(unstored.get("stored"), False, unstored)
        self.assertIsNone(unstored["seq"])
        unstored = f"id {unstored['id']}, seq {unstored['seq']}, stored {unstored['stored']}"

        disk.free(daemon)
        freed_ms = int(time.time() * 1000)
        # The alarm raised while the disk was full goes into the log at its own time, with its
        # alert, before anything newer (retried every 10 s).
        daemon.wait_for("decisions the store refused earlier are now in the incident log",
                        timeout=30)
        self.assertEqual(self.gw.json("status")["unstored_decisions"], 0)
        rows = self.query("SELECT e.incident, e.at FROM incident_event e JOIN incident_detector "
                          "d ON d.incident = e.incident WHERE d.detector = ? AND "
                          "e.decision = 'alarm'", during)
        self.assertEqual(len(rows), 1, f"the alarm of {during} is not in the log: {rows}")
        self.assertTrue(filled_ms <= rows[0][1] <= freed_ms,
                        f"logged at {rows[0][1]}, not when it was raised ({filled_ms}..{freed_ms})")
        late = self.platform.wait(
            lambda a: a["event"] == "fire_alarm" and a["detectors"][0]["id"] == during and
            a.get("seq") is not None, timeout=30, what=f"the stored alert of {during}")
        self.assertEqual(late["incident"], rows[0][0])
        self.heat_on(after)
        daemon.wait_for(f"critical: alarm {after} ")
        siren(after)
        self.assertEqual(self.query("SELECT count(*) FROM incident_detector WHERE detector = ?",
                                    after)[0][0], 1, "not stored once space returned")
        self.assertLess(rows[0][0], self.query("SELECT incident FROM incident_detector WHERE "
                                               "detector = ?", after)[0][0])
        self.platform.wait(lambda a: a["event"] == "fire_alarm" and
                           a["detectors"][0]["id"] == after, timeout=30,
                           what="the alarm raised once space returned")
        self.wait_delivered(timeout=30)
        self.stop(daemon)
        # Nothing that was stored before the disk filled is lost or changed.
        now = {r[0]: r for r in self.query("SELECT * FROM incident ORDER BY id")}
        for row in kept:
            if row[1] == "alarm":
                self.assertEqual(now[row[0]][:4], row[:4], "an incident changed")
            self.assertIn(row[0], now, "an incident stored before the disk filled is gone")
        outbox = {r[0]: r for r in self.query("SELECT id, seq, payload FROM outbox")}
        for row in kept_outbox:
            self.assertEqual(outbox.get(row[0]), row, "an alert stored before is gone or changed")
        self.check_delivery()
        chain = self.verify_log()
        for line in journal:
            if during in line or "stored" in line or "error" in line:
                say(f"full disk, the journal: {line}")
        say(f"full disk ({disk.mode}): the alarm raised while full was sounded, sent unstored "
            f"once the platform was back ({unstored}), and logged as incident {rows[0][0]} once "
            f"space returned; verify-log: {chain}")
        # Said last, since everything above holds without it: a line that says the decision
        # was not stored names it, so that the journal alone tells which alarm the incident
        # log lacks.
        self.assertTrue(any(during in x and re.search(r"\bstored\b", x) for x in journal),
                        f"no line says that the alarm of {during} was not stored; the journal "
                        f"said:\n" + "\n".join(journal[:12]) + f"\n(the alarm's own line: {alarm})")


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class DamagedStore(Faults):
    """A store with incidents in it, stopped cleanly, then damaged four ways while no daemon
    runs, as a power cut, a failing SD card, a stray write or a bad copy would."""

    def setUp(self):
        super().setUp()
        self.configure()
        daemon = self.start()
        for det in self.heats[:40]:
            self.heat_on(det)
        daemon.wait_for(f"critical: alarm {self.heats[39]} ")
        self.wait_delivered(timeout=30)
        self.stop(daemon)
        self.pristine = self.gw.dir / "pristine.db"
        shutil.copy(self.db_path, self.pristine)
        for extra in self.gw.state.glob("firegate.db-*"):
            extra.unlink()
        # The page of the incident log with the most rows: what an investigator would miss.
        page, start = self.fullest_event_page()
        self.page = page
        self.assertLess(start, 1536, "the page's rows do not reach its middle; more alarms")

    def fullest_event_page(self):
        db = sqlite3.connect(self.pristine)
        try:
            page = db.execute("SELECT pageno FROM dbstat WHERE name = 'incident_event' AND "
                              "pagetype = 'leaf' ORDER BY ncell DESC LIMIT 1").fetchone()[0]
            size = db.execute("PRAGMA page_size").fetchone()[0]
        finally:
            db.close()
        with open(self.pristine, "rb") as f:
            f.seek((page - 1) * size)
            header = f.read(8)
        self.page_size = size
        return page, struct.unpack("!H", header[5:7])[0]  # where the cells begin

    def middle_of_a_page(self, path):
        # Erased flash reads as all ones: 1 KiB of them across the middle of the page.
        with open(path, "r+b") as f:
            f.seek((self.page - 1) * self.page_size + self.page_size // 2 - 512)
            f.write(b"\xff" * 1024)

    @staticmethod
    def truncated(path):
        # A file system that lost the file's tail in a crash.
        os.truncate(path, os.path.getsize(path) // 2 // 4096 * 4096)

    @staticmethod
    def garbage_header(path):
        with open(path, "r+b") as f:
            f.write(random.Random(7).randbytes(100))

    @staticmethod
    def emptied(path):
        # A failing card or a bad copy that left the name and nothing else: not a new install.
        os.truncate(path, 0)

    def refused(self, damage):
        shutil.copy(self.pristine, self.db_path)
        damage(self.db_path)
        digest = sha256(self.db_path)
        proc = subprocess.Popen([fgtest.BIN, "--config", str(self.gw.config), "run"],
                                stderr=subprocess.PIPE, text=True, errors="backslashreplace")
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            self.fail(f"the daemon started on a damaged store ({damage.__name__}):\n{err[-3000:]}")
        self.assertIsNone(fgtest.sanitizer_report(err, proc.returncode), err)
        return proc.returncode, err, digest

    def test_damaged_store_refuses_to_start_and_points_to_the_recovery(self):
        told = {}
        for damage in (self.middle_of_a_page, self.truncated, self.garbage_header,
                       self.emptied):
            with self.subTest(damage=damage.__name__):
                code, err, digest = self.refused(damage)
                errors = [x for x in err.splitlines() if "supervised every" not in x]
                told[damage.__name__] = errors
                self.assertEqual(code, 1, err)
                self.assertIn(str(self.db_path), err, "the message does not name the file")
                self.assertEqual(sha256(self.db_path), digest,
                                 "the refused start changed the damaged file (evidence)")
                self.assertIn("refusing to start", err)
                self.assertIn(RECOVERY, err, "the message does not point to the recovery "
                                             "(docs/store.md)")
        # An emptied store is no new install for the command that makes one (import) either,
        # nor for one that reads; each says so in the same words and leaves the file empty.
        for args in (("import", self.bundle), ("incidents",)):
            with self.subTest(command=args[0]):
                done = self.gw.firegate(*args, check=None)
                self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
                self.assertIn("the store is damaged", done.stderr)
                self.assertIn(RECOVERY, done.stderr)
                self.assertEqual(done.stderr.count("error:"), 1, "said more than once")
                self.assertEqual(os.path.getsize(self.db_path), 0, "the emptied store was written")
        for name, errors in told.items():
            say(f"damaged store, {name}: " + " / ".join(errors)[:400])

    def test_the_documented_recovery_gives_a_store_the_daemon_runs_on(self):
        """docs/store.md, "Recovering a damaged store", step by step on Debian 12's sqlite3."""
        damaged = self.gw.dir / "damaged"
        damaged.mkdir()
        shutil.copy(self.pristine, self.db_path)
        self.middle_of_a_page(self.db_path)
        # 2. Keep the damaged state as evidence, and work on a copy of it.
        shutil.copytree(self.gw.state, damaged / "evidence")
        work = damaged / "work.db"
        shutil.copy(damaged / "evidence" / "firegate.db", work)
        recover = subprocess.run(["sqlite3", str(work), ".recover"], capture_output=True,
                                 text=True, timeout=60)
        # 4. Salvage what can be read into a new file.
        new = damaged / "firegate.db.new"
        sh = (f"sqlite3 {work} .dump | sed '$s/^ROLLBACK; -- due to errors$/COMMIT;/' | "
              f"sqlite3 {new} && sqlite3 {new} \"PRAGMA user_version = "
              f"$(sqlite3 {work} 'PRAGMA user_version')\"")
        done = subprocess.run(["sh", "-c", sh], capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        check = subprocess.run(["sqlite3", str(new), "PRAGMA integrity_check"],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.stdout.strip(), "ok")
        salvaged = sqlite3.connect(new)
        before = sqlite3.connect(self.pristine)
        try:
            counts = {t: (before.execute(f"SELECT count(*) FROM {t}").fetchone()[0],
                          salvaged.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
                      for t in ("detector", "incident", "incident_event", "outbox", "chain")}
        finally:
            before.close()
            salvaged.close()
        # 5. In place, without the damaged file's -wal and -shm.
        for f in self.gw.state.glob("firegate.db*"):
            f.unlink()
        shutil.move(new, self.db_path)
        lost = self.lost_rows(self.pristine, self.db_path)
        self.assertTrue(lost, "the damage took no chained row; damage another page")
        # 6. verify-log names where the damage cut the chain: the first row it took, as a
        # deletion (or a change, for a row partly overwritten) while nothing declares it.
        verdict = self.verdict(3)
        self.assertRegex(verdict["problem"], r"^incident_event #\d+ was (deleted|changed)")
        first_said = verdict["problem"]
        self.gw.firegate("gateway-key", check=0)
        self.assertIn("does not verify", self.export(3).stderr)
        # 7. Declare what the damage took, naming the kept damaged file by its hash: verify-log
        # then counts it apart, and only it.
        kept = damaged / "evidence" / "firegate.db"
        said = self.gw.firegate("declare-loss", "--reason", f"damaged page; copy in {damaged}",
                                "--damaged-copy", str(kept), check=0).stdout
        self.assertIn(f"declared {len(lost)} row", said)
        self.assertIn(f"damaged copy SHA-256 {sha256(kept)}", said)
        verdict = self.verdict(4)
        self.assertEqual((verdict["problem"], verdict["lost"]), (None, len(lost)))
        self.assertIn(f"copy in {damaged}", verdict["loss"])
        self.assertIn(f"damaged copy SHA-256 {sha256(kept)}", verdict["loss"])
        # Against the last head the platform was sent before the damage, the declaration is
        # named: it was made after that head and reaches back before it.
        done = self.gw.firegate("verify-log", "--json", "--head", self.pristine_head(),
                                check=4)
        warnings = json.loads(done.stdout)["warnings"]
        self.assertEqual(len(warnings), 1, done.stdout)
        self.assertIn("declared after the head the platform holds", warnings[0])
        # The export: refused unless asked for what remains, then stating the losses, which
        # the offline check reports (exit 4), with every row it holds verified.
        self.assertIn("--with-losses", self.export(3).stderr)
        case = self.export(0, "--with-losses")
        doc = json.loads(case.read_text())
        self.assertEqual(doc["version"], 2)
        self.assertEqual({(e["tbl"], e["row_id"]) for e in doc["losses"]["entries"]}, lost)
        exported = {("incident_event", e["id"]) for i in doc["incidents"] for e in i["events"]}
        self.assertFalse(exported & lost, "a lost row was exported")
        pub = self.gw.dir / "gateway.pub"
        pub.write_text(self.gw.firegate("gateway-key", check=0).stdout)
        checked = self.gw.firegate("verify-export", str(case), "--key", str(pub), check=4)
        self.assertIn(f"{len(lost)} row", checked.stdout)
        # 8. The registry again, from the bundle.
        self.gw.firegate("import", self.bundle, check=0)
        # 9. The daemon runs on it: it starts, restores the alarms it finds open, and a new
        # alarm is stored and reaches the platform.
        daemon = self.start()
        self.heat_on(self.heats[60])
        daemon.wait_for(f"critical: alarm {self.heats[60]} ")
        self.platform.wait(lambda a: a["event"] == "fire_alarm" and
                           a["detectors"][0]["id"] == self.heats[60], timeout=30,
                           what="an alarm raised on the recovered store")
        self.stop(daemon)
        # What the daemon wrote since verifies; the declared gap stays declared.
        self.assertEqual(self.verdict(4)["lost"], len(lost))
        say(f"recovery: .recover here: "
            f"{'works' if recover.returncode == 0 else recover.stderr.strip() or 'fails'}; "
            f"rows before the damage / salvaged: {counts}; verify-log after the salvage: "
            f"{first_said}; declared: {said.strip()[:300]}")

    def pristine_head(self):
        db = sqlite3.connect(self.pristine)
        try:
            return db.execute("SELECT lower(hex(hash)) FROM chain ORDER BY seq DESC "
                              "LIMIT 1").fetchone()[0]
        finally:
            db.close()

    def verdict(self, status):
        done = self.gw.firegate("verify-log", "--json", check=None)
        self.assertEqual(done.returncode, status, done.stdout + done.stderr)
        return json.loads(done.stdout)

    def export(self, status, *args):
        case = self.gw.dir / "case.json"
        done = self.gw.firegate("export", "--from", "2000-01-01", "--to", "2100-01-01", *args,
                                str(case), check=None)
        self.assertEqual(done.returncode, status, done.stdout + done.stderr)
        return case if status == 0 else done

    @staticmethod
    def lost_rows(before_path, after_path):
        """(table, id) of every chained row that the salvage lost or that came back changed."""
        before, after = sqlite3.connect(before_path), sqlite3.connect(after_path)
        before.text_factory = after.text_factory = bytes  # a damaged row is not UTF-8
        try:
            lost = set()
            for table in ("incident_event", "engine_event", "command", "audit"):
                kept = {r[0]: r for r in after.execute(f"SELECT * FROM {table}")}
                lost |= {(table, r[0]) for r in before.execute(f"SELECT * FROM {table}")
                         if kept.get(r[0]) != r}
            return lost
        finally:
            before.close()
            after.close()


def budget(signum, frame):
    raise TimeoutError(f"the fault injection run passed its budget of {BUDGET_S} s")


def main():
    signal.signal(signal.SIGALRM, budget)
    if len(sys.argv) > 1:  # a class or a test named: run just that, here
        signal.alarm(BUDGET_S)
        unittest.main(verbosity=2)
    # Every class in a process of its own, side by side: most of their time goes in waiting
    # (fault_after_s, an outage, a reconnect's back-off), and one after another they would take
    # three times as long. Each output is printed whole once its process ends.
    say(f"{'soak' if SOAK else 'default'} run: {KILLS} kills, upstream down {OUTAGE_S} s; "
        f"{len(CLASSES)} processes")
    t0 = time.monotonic()
    children = {c.__name__: subprocess.Popen([sys.executable, __file__, c.__name__],
                                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                             text=True, errors="backslashreplace")
                for c in CLASSES}
    failed = []
    for name, child in children.items():
        try:
            out, _ = child.communicate(timeout=BUDGET_S + 60)
        except subprocess.TimeoutExpired:
            child.kill()
            out, _ = child.communicate()
            out += f"\n(killed: it outlived its own budget of {BUDGET_S} s)"
        print(f"===== {name} (exit status {child.returncode})\n{out}", flush=True)
        if child.returncode != 0:
            failed.append(name)
    say(f"all done in {time.monotonic() - t0:.1f} s; "
        f"{'failed: ' + ', '.join(failed) if failed else 'every class passed'}")
    sys.exit(1 if failed else 0)


CLASSES = (KilledAtRandom, UpstreamUnreachable, BuildingBrokerKilled, DiskFull, DamagedStore)

if __name__ == "__main__":
    main()
