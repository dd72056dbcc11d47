#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon's main paths under valgrind's memcheck: import (first, again, refused), the
listings and the daemon's start and stop. Any leak, invalid read or write, or use of
uninitialised memory fails the test. Runs on the plain (not sanitized) build only, since
valgrind cannot run a binary built with AddressSanitizer.
"""

import os
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

VALGRIND = os.environ.get("VALGRIND", "valgrind")
LEAKS = "definite,indirect,possible"
MEMCHECK = [VALGRIND, "--quiet", "--error-exitcode=99", "--leak-check=full",
            f"--show-leak-kinds={LEAKS}", f"--errors-for-leak-kinds={LEAKS}", "--track-origins=yes"]


class Memcheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = fgtest.Gateway(demo_key=True)
        cls.bundle = cls.gw.bundle(floors=3, units_per_floor=4)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()

    def memcheck(self, *args, expect=0):
        done = fgtest.run(*MEMCHECK, fgtest.BIN, "--config", self.gw.config, *args, timeout=300)
        self.assertEqual(done.returncode, expect, done.stderr)
        self.assertNotIn("==", done.stderr, done.stderr)
        return done

    def test_import_list_and_refusal_are_clean(self):
        self.memcheck("import", self.bundle)
        self.memcheck("import", self.bundle)
        for cmd in ("building", "zones", "units", "residents", "detectors"):
            self.memcheck(cmd)
            self.memcheck(cmd, "--json")
        data = fgtest.load_json(self.bundle)
        data["units"][0]["floor"] = 2
        bad = self.gw.dir / "bad.json"
        fgtest.save_json(bad, data)
        self.memcheck("import", bad, expect=3)
        self.memcheck("check-config")

    def test_daemon_start_and_stop_is_clean(self):
        self.memcheck("import", self.bundle)
        proc = subprocess.Popen([*MEMCHECK, fgtest.BIN, "--config", str(self.gw.config), "run"],
                                stderr=subprocess.PIPE, text=True)
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            seen.append(line)
            if "ready" in line or not line:
                break
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        self.assertEqual(proc.wait(timeout=60), 0, "".join(seen) + rest)
        proc.stderr.close()
        self.assertNotIn("==", rest, rest)


class MemcheckWithBroker(unittest.TestCase):
    """The daemon's main path: messages from a real broker, decisions, incidents, the sounder,
    an acknowledgement through the control socket, and a clean stop."""

    def test_daemon_message_path_is_clean(self):
        from broker import Broker

        broker = Broker()
        gw = fgtest.Gateway(broker_port=broker.port)
        try:
            gw.config.write_text(gw.config.read_text() + f"[rules]\ndir = {fgtest.ROOT / 'rules'}\n"
                                 "[sounder]\ntopic = zigbee2mqtt/siren/set\n")
            gw.firegate("import", gw.bundle(floors=2, units_per_floor=2), check=0)
            proc = subprocess.Popen([*MEMCHECK, fgtest.BIN, "--config", str(gw.config), "run"],
                                    stderr=subprocess.PIPE, text=True)
            seen = []

            def wait_for(needle):
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    line = proc.stderr.readline()
                    seen.append(line)
                    if needle in line or not line:
                        return
                self.fail("".join(seen))

            wait_for("connected")
            broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
            broker.publish("zigbee2mqtt/apt-1-01-smoke", '{"smoke": tru')
            broker.publish("zigbee2mqtt/apt-1-01-smoke", '{"smoke": true, "battery": 90}')
            wait_for("output-on")
            gw.firegate("ack", "building", check=0)
            wait_for("acknowledged")
            proc.send_signal(signal.SIGTERM)
            rest = proc.stderr.read()
            proc.stderr.close()
            self.assertEqual(proc.wait(timeout=120), 0, "".join(seen) + rest)
            self.assertNotIn("==", "".join(seen) + rest)
        finally:
            broker.cleanup()
            gw.cleanup()


class MemcheckWeb(unittest.TestCase):
    """The desk's page under memcheck, over TLS, beside a plain daemon: a login, the state, the
    start of a live stream, an acknowledgement, the history as JSON and CSV, bad requests, a
    logout and a clean stop."""

    def test_web_main_paths_are_clean(self):
        from broker import Broker, make_ca_and_server_cert
        from test_web import PASSWORD, Web

        broker = Broker()
        gw = fgtest.Gateway(broker_port=broker.port)
        daemon = web = None
        try:
            make_ca_and_server_cert(gw.dir)
            port = fgtest.free_port()
            gw.config.write_text(gw.config.read_text() +
                                 f"[web]\nlisten = 127.0.0.1:{port}\n"
                                 f"certfile = {gw.dir / 'server.pem'}\n"
                                 f"keyfile = {gw.dir / 'server.key'}\n"
                                 f"root = {fgtest.ROOT / 'gateway' / 'www'}\n")
            gw.firegate("import", gw.bundle(floors=2, units_per_floor=2), check=0)
            gw.firegate("user", "add", "guard", "--role", "manager", input=PASSWORD + "\n",
                        check=0)
            daemon = fgtest.Daemon(gw)
            daemon.wait_for("connected")
            # `firegate web` execs firegate-web, which valgrind follows only when told to.
            web = Web(gw, port, cafile=gw.dir / "ca.pem",
                      prefix=[*MEMCHECK, "--trace-children=yes"], timeout=120)
            status, _, me, cookie = web.login("guard")
            self.assertEqual(status, 200, me)
            broker.publish("stat/apt_1_02_heat/RESULT", '{"Switch1":{"Action":"ON"}}')
            daemon.wait_for("alarm f1-u02-heat")
            status, _, state = web.json("GET", "/api/state", cookie=cookie, timeout=60)
            self.assertEqual(status, 200)
            conn = web.connection()
            conn.timeout = 60
            conn.request("GET", "/api/events", headers={"Cookie": cookie})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertTrue(resp.readline().startswith(b"retry:"))
            conn.close()
            alarm = [i for i in state["incidents"] if i["kind"] == "alarm"][0]["id"]
            status, _, answer = web.json("POST", f"/api/incidents/{alarm}/acknowledge",
                                         cookie=cookie, csrf=me["csrf"], timeout=60)
            self.assertEqual(status, 200, answer)
            for path in ("/api/history?kind=alarm", "/api/history?format=csv",
                         "/api/history?floor=x", "/", "/nothing"):
                web.request("GET", path, cookie=cookie, timeout=60)
            web.request("POST", f"/api/incidents/{alarm}/silence", body="x" * 5000,
                        cookie=cookie, csrf=me["csrf"], timeout=60)
            web.request("POST", "/api/login", body={"user": "guard", "password": "wrong-one"},
                        timeout=60)
            web.request("POST", "/api/logout", cookie=cookie, csrf=me["csrf"], timeout=60)
            web.proc.send_signal(signal.SIGTERM)
            self.assertEqual(web.proc.wait(timeout=120), 0, "".join(web.said))
            time.sleep(0.2)
            said = "".join(web.said)
            self.assertNotIn("==", said, said)
        finally:
            if web and web.proc.poll() is None:
                web.proc.kill()
            if daemon:
                daemon.stop()
            broker.cleanup()
            gw.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
