#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The security desk end to end: a real Mosquitto broker, the daemon (`firegate run`), the web
process (`firegate web`, HTTPS with a certificate for 127.0.0.1) and the page in Debian's
headless Chromium (desk_e2e.js through scripts/browser).

A heat detector's alarm published on the building's broker is on a manager's and a viewer's
page within a second; the page sounds its tone until the sound is acknowledged; the manager
acknowledges the incident with the button, and the store records the account and the client
address, with a row in the chained audit log; the viewer sees it all but has no buttons, and
an action forged with the viewer's own session and CSRF token is refused and changes nothing;
an oversized body, an unknown incident, a missing CSRF token and an unknown or ended session
are refused with 413, 404, 403 and 401; a logout sends the session's other pages back to the
login; the history is listed and downloads as CSV; the manager silences, then resets the
alarm as false after a confirmation, and a new alarm sounds the tone again; five wrong
passwords are slowed down, the right one too until the wait has passed; when the daemon
stops, the page says in red that alarms are not watched. Screenshots of the page go to
$FIREGATE_SCREENSHOT_DIR when it is set.
"""

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
from broker import Broker, make_ca_and_server_cert  # noqa: E402

BROWSER = fgtest.ROOT / "scripts" / "browser"
DRIVER = Path(__file__).resolve().parent / "desk_e2e.js"
BUILD = Path(os.environ.get("FIREGATE_BUILD_DIR", fgtest.ROOT / "build" / "debug"))
CACHE = BUILD / "browser"
CHROMIUM = os.environ.get("FIREGATE_CHROMIUM", "/usr/bin/chromium")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; media-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")

# Made-up accounts; the passwords are long enough for `firegate user` and easy to spot.
MANAGER = {"user": "guard.1", "password": "Bao-ve-ca-dem-2026"}
VIEWER = {"user": "le.tan", "password": "Chi-xem-thoi-2026"}
THROTTLED = {"user": "guard.2", "password": "Ca-sang-an-toan-26"}

# The alarm must be on the page within this long of its publication (docs/desk.md: the state
# is pushed within 1 s of the daemon's commit, and a fixed-threshold heat alarm has no delay).
LATENCY_LIMIT_MS = 1000


class Web:
    """`firegate web`, its stderr read line by line on a thread, like fgtest.Daemon."""

    def __init__(self, gw):
        self.proc = subprocess.Popen([fgtest.BIN, "--config", str(gw.config), "web"],
                                     stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    wait_for = fgtest.Daemon.wait_for
    drain = fgtest.Daemon.drain

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)


def heat_detector_on_tasmota(bundle):
    """A heat detector in a unit whose bridge is Tasmota: its switch closing is an alarm at once
    (a fixed-temperature contact, no verification delay; test_daemon_mqtt.py)."""
    for d in fgtest.load_json(bundle)["detectors"]:
        source = d["source"]
        if d["kind"] == "heat" and d.get("unit") and source.get("bridge") == "tasmota":
            return d, f"stat/{source['device']}/RESULT"
    raise AssertionError(f"{bundle} has no Tasmota heat detector in a unit; change the seed")


class DeskEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
            raise AssertionError(f"Chromium not found at {CHROMIUM}: this test needs Debian's "
                                 "chromium package (scripts/bootstrap installs it)")
        prepared = fgtest.run(BROWSER, "prepare", "--cache", CACHE, timeout=240)
        if prepared.returncode != 0:
            raise AssertionError(f"scripts/browser prepare failed:\n{prepared.stderr}")
        cls.started = time.monotonic()
        cls.broker = Broker()
        cls.gw = fgtest.Gateway(broker_port=cls.broker.port)
        try:
            cls.run_everything()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def run_everything(cls):
        gw = cls.gw
        tls = gw.dir / "tls"
        tls.mkdir()
        make_ca_and_server_cert(tls)
        cls.web_port = fgtest.free_port()
        with gw.config.open("a") as f:
            f.write(f"[web]\nlisten = 127.0.0.1:{cls.web_port}\n"
                    f"certfile = {tls / 'server.pem'}\nkeyfile = {tls / 'server.key'}\n"
                    f"root = {fgtest.ROOT / 'gateway' / 'www'}\n")
        bundle = gw.bundle(floors=2, units_per_floor=2, seed=1)
        gw.firegate("import", bundle, check=0)
        cls.detector, topic = heat_detector_on_tasmota(gw.dir / "raw-bundle.json")
        for account, role, language in ((MANAGER, "manager", "vi"), (VIEWER, "viewer", "en"),
                                        (THROTTLED, "viewer", "vi")):
            gw.firegate("user", "add", account["user"], "--role", role, "--language", language,
                        input=account["password"] + "\n", check=0)

        cls.daemon = fgtest.Daemon(gw)
        cls.daemon.wait_for("ready")
        cls.daemon.wait_for("building broker 127.0.0.1")
        cls.web = Web(gw)
        cls.web.wait_for(f"web: listening on https://127.0.0.1:{cls.web_port}")

        cls.shots = Path(os.environ.get("FIREGATE_SCREENSHOT_DIR") or gw.dir / "shots")
        cls.shots.mkdir(parents=True, exist_ok=True)
        config = {
            "base": f"https://127.0.0.1:{cls.web_port}",
            "manager": MANAGER, "viewer": VIEWER, "throttled": THROTTLED,
            "publish": [*cls.broker.client_args(), "-q", "1", "-t", topic,
                        "-m", '{"Switch1":{"Action":"ON"}}'],
            "restore": [*cls.broker.client_args(), "-q", "1", "-t", topic,
                        "-m", '{"Switch1":{"Action":"OFF"}}'],
            "firegate": [fgtest.BIN, "--config", str(gw.config)],
            "unit": cls.detector["unit"], "detector": cls.detector["detector_id"],
            "shots": str(cls.shots), "daemon_pid": cls.daemon.proc.pid,
        }
        cls.ran = fgtest.run(BROWSER, "run", "--cache", CACHE, DRIVER, json.dumps(config),
                             timeout=120)
        lines = cls.ran.stdout.strip().splitlines()
        cls.out = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
        # The script stopped the daemon last (unless it failed before); both processes must end
        # cleanly.
        cls.daemon_status = cls.daemon.stop()
        cls.web_status = cls.web.stop()
        cls.seconds = time.monotonic() - cls.started
        print(f"desk e2e: alarm on the page {cls.out.get('latency_ms')} ms after publication "
              f"({cls.out.get('latency_parts')}); "
              f"whole test {cls.seconds:.1f} s; screenshots in {cls.shots}", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        for name in ("web", "daemon"):
            proc = getattr(cls, name, None)
            if proc and proc.proc.poll() is None:
                proc.proc.kill()
                proc.proc.wait(timeout=10)
        cls.broker.cleanup()
        cls.gw.cleanup()

    # --- helpers ---

    def explain(self):
        failed = self.out.get("failed")
        where = f"the browser stopped at step {failed['step']!r}:\n{failed['error']}\n" \
            if failed else ""
        return (f"{where}browser exit {self.ran.returncode}\nstderr:\n{self.ran.stderr[-4000:]}"
                f"\nweb:\n{self.web.drain()[-3000:]}\ndaemon:\n{self.daemon.drain()[-2000:]}")

    def fact(self, name):
        if name not in self.out:
            self.fail(f"the browser did not get to see {name!r}; {self.explain()}")
        return self.out[name]

    def store(self, sql, *args):
        db = sqlite3.connect(f"file:{self.gw.state / 'firegate.db'}?mode=ro", uri=True)
        try:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(sql, args).fetchall()]
        finally:
            db.close()

    def incident(self):
        rows = self.store("SELECT * FROM incident WHERE id = ?", self.fact("incident"))
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    # --- what the desk shows ---

    def test_the_browser_script_ran_every_step(self):
        self.assertNotIn("failed", self.out, self.explain())
        self.assertEqual(self.ran.returncode, 0, self.explain())

    def test_an_alarm_is_on_both_pages_within_a_second_of_its_publication(self):
        latency = self.fact("latency_ms")
        self.assertLess(latency["manager"], LATENCY_LIMIT_MS, latency)
        self.assertLess(latency["viewer"], LATENCY_LIMIT_MS, latency)
        row = self.fact("incident_row")
        self.assertEqual((row["kind"], row["state"]), ("alarm", "open"), row)
        self.assertIn(self.detector["detector_id"], row["text"])
        self.assertNotEqual(self.fact("tile_before"), "alarm")
        stored = self.incident()
        self.assertEqual((stored["kind"], stored["detector"]),
                         ("alarm", self.detector["detector_id"]))

    def test_the_page_speaks_the_accounts_language_and_keeps_a_choice(self):
        self.assertEqual(self.fact("manager_lang"), "vi")
        self.assertEqual(self.fact("viewer_lang_first"), "en")
        # A choice made on the page is kept for the account across a reload.
        self.assertEqual(self.fact("viewer_lang_reloaded"), "vi")
        self.assertEqual(self.fact("viewer_lang"), "en")
        self.assertIn("Báo cháy", self.fact("incident_row")["text"])

    def test_the_unit_detail_shows_its_detector_in_alarm_and_its_occupant_counts(self):
        detail = self.fact("detail")
        self.assertEqual(detail["detector_state"], "alarm", detail)
        self.assertEqual(sorted(detail["occupants"]),
                         sorted(["verified", "bedridden", "mobility_impaired", "elderly",
                                 "infant", "needs_oxygen"]), detail)
        self.assertTrue(all(v.isdigit() for v in detail["occupants"].values()), detail)

    def test_the_tone_sounds_until_the_sound_is_acknowledged(self):
        sound = self.fact("sound")
        self.assertEqual(sound["manager_before"], "on", sound)
        self.assertTrue(sound["button_visible"], sound)
        self.assertEqual(sound["audio"], "running", sound)
        self.assertEqual(sound["manager_after"], "off", sound)
        self.assertFalse(sound["button_after"], sound)
        # Another browser's sound is its own.
        self.assertEqual(sound["viewer_still"], "on", sound)

    # --- acting ---

    def test_the_acknowledgement_names_the_account_and_its_address_in_the_store(self):
        ack = self.fact("ack")
        self.assertEqual(ack["status"], 200, ack)
        self.assertIs(ack["body"]["ok"], True, ack)
        self.assertIn(MANAGER["user"], ack["shown_by"])
        stored = self.incident()
        self.assertIn(MANAGER["user"], stored["acknowledged_by"])
        self.assertIn("127.0.0.1", stored["acknowledged_by"])
        events = self.store("SELECT decision, who FROM incident_event WHERE incident = ? "
                            "ORDER BY id", stored["id"])
        acks = [e for e in events if e["decision"] == "acknowledged"]
        self.assertEqual(len(acks), 1, events)
        self.assertIn(MANAGER["user"], acks[0]["who"])

    def test_the_acknowledgement_is_in_the_chained_audit_log(self):
        incident = self.fact("incident")
        rows = self.store("SELECT a.*, c.seq FROM audit a LEFT JOIN chain c "
                          "ON c.tbl = 'audit' AND c.row_id = a.id "
                          "WHERE a.origin = 'desk' AND a.action = 'acknowledge'")
        mine = [r for r in rows if json.loads(r["params"]).get("target") == str(incident)]
        self.assertEqual(len(mine), 1, rows)
        self.assertIn(MANAGER["user"], mine[0]["who"])
        self.assertIn("127.0.0.1", mine[0]["who"])
        self.assertEqual(json.loads(mine[0]["params"])["result"], "ok", mine)
        self.assertIsNotNone(mine[0]["seq"], "the audit row has no entry in the chain")

    def test_a_viewer_sees_the_incident_without_buttons_and_a_forged_action_is_refused(self):
        self.assertEqual(self.fact("viewer_buttons"), 0)
        self.assertTrue(self.fact("viewer_note"))
        forged = self.fact("forged")
        self.assertEqual((forged["role"], forged["may_act"]), ("viewer", False), forged)
        self.assertEqual([forged["acknowledge"], forged["silence"], forged["reset"]],
                         [403, 403, 403], forged)
        # Right after, the incident is as the manager left it (the manager silences and resets
        # it later, through the page).
        self.assertEqual(forged["after"]["state"], "acknowledged", forged)
        self.assertIsNone(forged["after"]["silenced_by"], forged)
        # The refusals never reached the daemon: no event and no action in the log is the
        # viewer's.
        events = self.store("SELECT * FROM incident_event WHERE who LIKE ?", f"%{VIEWER['user']}%")
        self.assertEqual(events, [])
        acted = self.store("SELECT * FROM audit WHERE origin = 'desk' AND who LIKE ?",
                           f"%{VIEWER['user']}%")
        self.assertEqual([r for r in acted if r["action"] in ("acknowledge", "silence", "reset")],
                         [], acted)

    def test_the_manager_silences_then_resets_a_false_alarm_after_confirming(self):
        silence = self.fact("silence")
        self.assertEqual(silence["status"], 200, silence)
        self.assertIn(MANAGER["user"], silence["shown_by"])
        reset = self.fact("reset")
        self.assertTrue(reset["confirm_asked"], reset)
        self.assertEqual(reset["status"], 200, reset)
        self.assertIn("false_alarm=1", reset["sent"])
        self.assertNotEqual(reset["tile"], "alarm", reset)
        stored = self.incident()
        self.assertEqual(stored["state"], "closed", stored)
        for column in ("silenced_by", "reset_by", "false_alarm_by"):
            self.assertIn(MANAGER["user"], stored[column] or "", (column, stored))
            self.assertIn("127.0.0.1", stored[column] or "", (column, stored))

    def test_a_new_alarm_sounds_the_tone_again(self):
        second = self.fact("second")
        self.assertNotEqual(second["incident"], self.fact("incident"), second)
        self.assertEqual(second["sound"], "on", second)

    # --- refusals ---

    def test_wrong_passwords_are_slowed_down_and_so_is_the_right_one_until_the_wait(self):
        throttle = self.fact("throttle")
        statuses = [a["status"] for a in throttle["attempts"]]
        # Three failures are free; the next attempts come before the 1 s wait has passed.
        self.assertEqual(statuses, [401, 401, 401, 429, 429], throttle)
        for attempt in throttle["attempts"][3:]:
            self.assertGreaterEqual(attempt["body"]["retry_after_s"], 1, attempt)
            self.assertIsNotNone(attempt["retry_after"], attempt)
            self.assertIn(str(attempt["body"]["retry_after_s"]), attempt["shown"])
        self.assertIn("Sai tên đăng nhập hoặc mật khẩu", throttle["attempts"][0]["shown"])
        right = throttle["right_at_once"]
        self.assertEqual(right["status"], 429, throttle)
        self.assertIn("giây", right["shown"])
        self.assertEqual(throttle["right_after_wait"]["status"], 200, throttle)

    def test_oversized_unknown_unprotected_and_sessionless_requests_are_refused(self):
        r = self.fact("refusals")
        self.assertEqual(r["oversized"]["status"], 413, r["oversized"])
        self.assertEqual(r["oversized_login"]["status"], 413, r["oversized_login"])
        self.assertEqual(r["unknown_incident"]["status"], 404, r["unknown_incident"])
        self.assertEqual(r["no_csrf"]["status"], 403, r["no_csrf"])
        self.assertEqual(r["wrong_csrf"]["status"], 403, r["wrong_csrf"])
        self.assertEqual(r["unknown_path"]["status"], 404, r["unknown_path"])
        self.assertEqual(r["unknown_api"]["status"], 404, r["unknown_api"])
        for name in ("oversized", "unknown_incident", "no_csrf", "unknown_path"):
            self.assertIsInstance(r[name]["body"]["error"], str, r[name])
        # None of them touched the incident.
        self.assertEqual(r["after"]["state"], "acknowledged", r["after"])
        self.assertIsNone(r["after"]["silenced_by"], r["after"])
        nobody = r["unknown_session"]
        self.assertEqual([nobody[k] for k in ("me", "state", "events", "history", "act")],
                         [401] * 5, nobody)
        self.assertIsInstance(nobody["body"]["error"], str, nobody)

    def test_a_logout_ends_the_session_on_every_page_and_for_its_cookie(self):
        logout = self.fact("logout")
        self.assertEqual(logout["old_cookie"], 401, logout)
        # The session's other page, open on the same cookie, is sent to the login at once.
        self.assertLess(logout["other_page_ms"], 2000, logout)
        cookie = self.fact("cookie")
        self.assertEqual((cookie["httpOnly"], cookie["secure"], cookie["sameSite"],
                          cookie["path"]), (True, True, "Strict", "/"), cookie)

    # --- headers, history, daemon, screenshots ---

    def test_every_answer_carries_the_security_headers_and_the_page_breaks_no_policy(self):
        for headers in (self.fact("page_headers"), self.fact("refusals")["api_headers"]):
            self.assertEqual(headers.get("content-security-policy"), CSP, headers)
            self.assertEqual(headers.get("x-content-type-options"), "nosniff", headers)
            self.assertEqual(headers.get("referrer-policy"), "no-referrer", headers)
        self.assertIn("no-store", self.fact("refusals")["api_headers"].get("cache-control", ""))
        login = self.fact("manager_login")
        self.assertEqual(login["status"], 200)
        for part in ("__Host-firegate=", "HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
            self.assertIn(part, login["set_cookie"])
        for page, lines in self.fact("console").items():
            refused = [line for line in lines if "Content Security Policy" in line]
            self.assertEqual(refused, [], f"{page}: {lines}")
        for page, errors in self.fact("page_errors").items():
            self.assertEqual(errors, [], page)

    def test_the_history_lists_the_incident_and_downloads_as_csv(self):
        history = self.fact("history")
        self.assertIn(self.detector["detector_id"], history["row"])
        self.assertEqual(history["csv_status"], 200, history)
        self.assertIn("text/csv", history["csv_type"], history)
        self.assertIn("attachment", history.get("csv_disposition") or "", history)
        self.assertTrue(history["csv_has_incident"], history)
        self.assertEqual(history["bad"]["status"], 400, history)
        self.assertEqual(history["bad_limit"], 400, history)
        self.assertEqual(history["error_shown"]["status"], "400", history)
        looks = self.store("SELECT * FROM audit WHERE origin = 'desk' AND who LIKE ? "
                           "AND action NOT IN ('acknowledge', 'silence', 'reset')",
                           f"%{MANAGER['user']}%")
        self.assertTrue(looks, "the desk's look at the history is not in the audit log")

    def test_when_the_daemon_stops_the_page_says_alarms_are_not_watched(self):
        down = self.fact("daemon_down")
        self.assertIn("KHÔNG", down["text"])
        self.assertTrue(down["detector_states"], down)
        self.assertTrue(all(s == "unknown" for s in down["detector_states"]), down)
        self.assertEqual(self.daemon_status, 0, self.daemon.drain())

    def test_the_screenshots_are_pngs(self):
        shots = self.fact("shots")
        self.assertGreaterEqual(len(shots), 2, shots)
        for shot in shots:
            data = Path(shot).read_bytes()
            self.assertTrue(data.startswith(PNG_MAGIC), shot)
            self.assertGreater(len(data), 10000, shot)

    def test_the_web_process_ends_cleanly_and_the_test_is_quick(self):
        self.assertEqual(self.web_status, 0, self.web.drain())
        self.assertIsNone(fgtest.sanitizer_report(self.web.drain()), self.web.drain())
        self.assertLess(self.seconds, 60)


if __name__ == "__main__":
    unittest.main()
