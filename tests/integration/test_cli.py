#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The command-line frame as an installer meets it: help, version, exit codes, the config
search order, check-config on good and broken files, and the daemon starting, telling systemd
it is ready, and stopping cleanly on SIGTERM and SIGINT.
"""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

OK, FAILURE, USAGE, REFUSED = 0, 1, 2, 3


class Frame(unittest.TestCase):
    def setUp(self):
        self.gw = fgtest.Gateway()

    def tearDown(self):
        self.gw.cleanup()

    def test_help_lists_commands_and_exit_codes(self):
        out = fgtest.run(fgtest.BIN, "--help", check=OK).stdout
        for cmd in ("run", "import", "units", "residents", "detectors", "check-config"):
            self.assertRegex(out, rf"(?m)^  {cmd}\s+\S")
        for code in (OK, FAILURE, USAGE, REFUSED):
            self.assertRegex(out, rf"(?m)^  {code}  \S")

    def test_every_subcommand_has_its_own_help(self):
        for cmd in ("run", "import", "building", "zones", "units", "residents", "detectors",
                    "check-config"):
            done = fgtest.run(fgtest.BIN, cmd, "--help", check=OK)
            self.assertIn(f"Usage: firegate [--config PATH] {cmd}", done.stdout)

    def test_version(self):
        self.assertRegex(fgtest.run(fgtest.BIN, "--version", check=OK).stdout,
                         r"^firegate \d+\.\d+\.\d+\n$")

    def test_usage_errors_exit_2_and_say_why(self):
        err = fgtest.run(fgtest.BIN, "001187004213", check=USAGE).stderr
        self.assertIn("unknown command", err)
        self.assertNotIn("001187004213", err)
        err = self.gw.firegate("units", "--bogus-001187004213", check=USAGE).stderr
        self.assertIn("unknown option", err)
        self.assertNotIn("001187004213", err)
        fgtest.run(fgtest.BIN, check=USAGE)
        self.assertIn("expected exactly one BUNDLE",
                      self.gw.firegate("import", check=USAGE).stderr)
        self.assertIn("takes no such filter",
                      self.gw.firegate("units", "--kind", "smoke", check=USAGE).stderr)
        self.assertIn("--floor expects", self.gw.firegate("units", "--floor", "x",
                                                          check=USAGE).stderr)
        done = self.gw.firegate("residents", "--citizen-id", "123456789", check=USAGE)
        self.assertIn("9-digit identity card number", done.stderr)

    def test_acting_without_a_running_daemon_says_so(self):
        done = self.gw.firegate("ack", "building", check=FAILURE)
        self.assertIn("no daemon is listening", done.stderr)

    def test_listing_before_any_import_says_what_to_do(self):
        done = self.gw.firegate("units", check=FAILURE)
        self.assertIn("no store yet", done.stderr)
        self.assertIn("firegate import", done.stderr)

    def test_check_config_prints_effective_settings_it_accepts_again(self):
        out = self.gw.firegate("check-config", check=OK).stdout
        self.assertIn(f"state_dir = {self.gw.state}", out)
        self.assertIn(f"runtime_dir = {self.gw.run_dir}", out)
        self.assertIn(f"# authority key {self.gw.key_id}", out)
        again = self.gw.dir / "effective.conf"
        again.write_text(out)
        fgtest.run(fgtest.BIN, "--config", again, "check-config", "--quiet", check=OK)

    def test_example_config_is_accepted(self):
        example = fgtest.ROOT / "examples" / "firegate.conf"
        text = example.read_text().replace("/etc/firegate/authority.pub", str(self.gw.pub))
        path = self.gw.dir / "example.conf"
        path.write_text(text)
        fgtest.run(fgtest.BIN, "--config", path, "check-config", check=OK)

    def test_broken_config_names_file_and_line_of_every_error(self):
        path = self.gw.dir / "broken.conf"
        path.write_text("[gateway]\nstate_dir = /tmp/x\nlog_level = loud\n"
                        "[registry]\nauthority_key = /nonexistent\nbogus = 1\n")
        done = fgtest.run(fgtest.BIN, "--config", path, "check-config", check=REFUSED)
        self.assertIn(f"{path}:3:", done.stderr)
        self.assertIn(f"{path}:6:", done.stderr)
        self.assertIn("bogus", done.stderr)

    def test_config_path_from_environment_and_flag_precedence(self):
        env = {"FIREGATE_CONFIG": str(self.gw.config)}
        out = fgtest.run(fgtest.BIN, "check-config", env=env, check=OK).stdout
        self.assertIn(str(self.gw.state), out)
        missing = self.gw.dir / "missing.conf"
        done = fgtest.run(fgtest.BIN, "--config", missing, "check-config", env=env,
                          check=FAILURE)
        self.assertIn(str(missing), done.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to hand the directory to another user")
    def test_writing_into_another_users_state_dir_is_refused(self):
        self.gw.state.mkdir()
        os.chown(self.gw.state, 65534, 65534)
        bundle = self.gw.bundle(floors=2, units_per_floor=2)
        done = self.gw.firegate("import", bundle, check=FAILURE)
        self.assertIn("run this as that user", done.stderr)
        self.assertEqual(list(self.gw.state.iterdir()), [])

    def test_created_files_are_not_for_other_users(self):
        self.gw.firegate("import", self.gw.bundle(floors=2, units_per_floor=2), check=OK)
        for path in self.gw.state.iterdir():
            self.assertEqual(path.stat().st_mode & 0o007, 0, path)

    def test_missing_authority_key_is_a_clear_error(self):
        self.gw.pub.unlink()
        done = self.gw.firegate("check-config", check=FAILURE)
        self.assertIn(str(self.gw.pub), done.stderr)
        self.assertIn(f"{self.gw.config}:", done.stderr)
        self.assertIn("registry.authority_key", done.stderr)


class Daemon(unittest.TestCase):
    def setUp(self):
        self.gw = fgtest.Gateway()
        self.gw.firegate("import", self.gw.bundle(floors=2, units_per_floor=3), check=OK)

    def tearDown(self):
        self.gw.cleanup()

    def start(self, env=None):
        full = dict(os.environ)
        full.update(env or {})
        return subprocess.Popen([fgtest.BIN, "--config", str(self.gw.config), "run"],
                                stderr=subprocess.PIPE, text=True, env=full)

    def wait_for(self, proc, needle, timeout=20):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if needle in line:
                return "".join(seen)
        proc.kill()
        self.fail(f"never saw {needle!r}; got:\n{''.join(seen)}")

    def test_ready_notification_then_clean_stop_on_sigterm_and_sigint(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            sock_path = self.gw.dir / "notify.sock"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(str(sock_path))
            sock.settimeout(20)
            try:
                proc = self.start({"NOTIFY_SOCKET": str(sock_path)})
                message = sock.recv(4096).decode()
                self.assertIn("READY=1", message)
                self.assertIn("Serving 6 units", message)
                log = self.wait_for(proc, "ready")
                self.assertIn("serving building", log)
                proc.send_signal(sig)
                self.assertEqual(proc.wait(timeout=10), 0)
                self.assertIn("STOPPING=1", sock.recv(4096).decode())
                proc.stderr.close()
            finally:
                sock.close()
                sock_path.unlink()

    def test_damaged_store_stops_start_up_with_a_clear_message(self):
        db_path = self.gw.state / "firegate.db"
        db = sqlite3.connect(db_path)
        db.execute("PRAGMA journal_mode = DELETE")
        db.close()
        with open(db_path, "r+b") as f:
            f.seek(4096 * 3)
            f.write(b"\x5a" * 4096)
        done = self.gw.firegate("run", check=FAILURE, timeout=20)
        self.assertIn("the store is damaged", done.stderr)
        self.assertIn("Recovering a damaged store", done.stderr)
        # An import, which writes, checks the whole file too; a listing only reads what it
        # needs (docs/store.md).
        done = self.gw.firegate("import", self.gw.bundle(floors=1, units_per_floor=1),
                                check=FAILURE)
        self.assertIn("the store is damaged", done.stderr)

    def test_daemon_refuses_a_database_from_a_newer_version(self):
        db = sqlite3.connect(self.gw.state / "firegate.db")
        db.execute("PRAGMA user_version = 999")
        db.commit()
        db.close()
        done = self.gw.firegate("run", check=FAILURE, timeout=20)
        self.assertIn("written by a newer firegate", done.stderr)
        self.assertIn("schema version 999", done.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
