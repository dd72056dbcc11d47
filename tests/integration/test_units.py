#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The systemd units as an installer gets them: `systemd-analyze security` (offline, on the unit
files) rates the daemon's and the desk's units at an exposure of 2.0 or less, and the figures
are printed; the daemon's unit is Type=notify with a watchdog and Restart=always, runs as the
firegate user from sysusers.d with the gpio group for /dev/gpiochip*, and has an empty
capability bounding set; the desk's unit runs as its own user, in the firegate group only.
Log lines carry journald priorities on journald's stream, and only there.
"""

import re
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

UNITS = fgtest.ROOT / "systemd"
LIMIT = 2.0


def settings(unit):
    """The unit's KEY=VALUE lines, every value of a repeated key kept in order."""
    out = {}
    for line in (UNITS / unit).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


class Units(unittest.TestCase):
    def exposure(self, unit):
        analyze = shutil.which("systemd-analyze")
        self.assertIsNotNone(analyze, "systemd-analyze not found (package systemd)")
        done = subprocess.run([analyze, "security", "--offline=true", "--no-pager",
                               str(UNITS / unit)], capture_output=True, text=True, timeout=60)
        found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
        self.assertIsNotNone(found, done.stdout + done.stderr)
        figure = float(found.group(1))
        print(f"systemd-analyze security {unit}: exposure {figure}", file=sys.stderr)
        return figure

    def test_exposure_is_at_most_two(self):
        for unit in ("firegate.service", "firegate-web.service"):
            with self.subTest(unit):
                self.assertLessEqual(self.exposure(unit), LIMIT)

    def test_daemon_unit(self):
        s = settings("firegate.service")
        self.assertEqual(s["Type"], ["notify"])
        self.assertEqual(s["Restart"], ["always"])
        self.assertIn("WatchdogSec", s)
        self.assertEqual(s["User"], ["firegate"])
        self.assertEqual(s["SupplementaryGroups"], ["gpio"])
        self.assertEqual(s["CapabilityBoundingSet"], [""])
        self.assertEqual(s["ProtectSystem"], ["strict"])
        self.assertEqual(s["RuntimeDirectory"], ["firegate"])
        self.assertIn("char-gpiochip rw", s["DeviceAllow"])
        self.assertEqual(s["ExecStart"], ["/usr/bin/firegate run"])

    def test_web_unit(self):
        s = settings("firegate-web.service")
        self.assertEqual(s["User"], ["firegate-web"])
        self.assertEqual(s["SupplementaryGroups"], ["firegate"])
        self.assertEqual(s["CapabilityBoundingSet"], [""])
        self.assertEqual(s["ExecStart"], ["/usr/bin/firegate web"])
        self.assertEqual(s["PrivateDevices"], ["yes"])

    def test_sysusers_declares_both_users(self):
        lines = [line.split() for line in (UNITS / "firegate.sysusers").read_text().splitlines()
                 if line.strip() and not line.startswith("#")]
        self.assertIn(["u", "firegate"], [line[:2] for line in lines])
        self.assertIn(["u", "firegate-web"], [line[:2] for line in lines])
        self.assertIn(["m", "firegate", "gpio"], [line[:3] for line in lines])
        self.assertIn(["m", "firegate-web", "firegate"], [line[:3] for line in lines])


class JournalPriorities(unittest.TestCase):
    """Under systemd, stderr is journald's stream and JOURNAL_STREAM names it: each line then
    starts with its syslog priority, so `journalctl -p err` finds the errors. A stderr that is
    not that stream (a child whose stderr was redirected) gets plain lines."""

    def run_with_stream(self, gw, *args, same=True):
        import os
        r, w = os.pipe()
        st = os.fstat(w)
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino + (0 if same else 1)}")
        proc = subprocess.Popen([fgtest.BIN, "--config", str(gw.config), *args], stderr=w,
                                stdout=subprocess.DEVNULL, env=env)
        os.close(w)
        with os.fdopen(r) as f:
            text = f.read()
        proc.wait(timeout=60)
        return text

    def test_lines_carry_priorities_only_on_the_journal_stream(self):
        gw = fgtest.Gateway()
        self.addCleanup(gw.cleanup)
        gw.config.write_text(gw.config.read_text() + "[broker]\nport = 0\n")
        text = self.run_with_stream(gw, "check-config")
        lines = [line for line in text.splitlines() if line]
        self.assertTrue(lines, text)
        self.assertTrue(all(re.match(r"<[0-7]>", line) for line in lines), text)
        self.assertTrue(any(line.startswith("<3>") for line in lines), text)
        self.assertFalse(any(line.startswith("<", 1) for line in lines))
        plain = self.run_with_stream(gw, "check-config", same=False)
        self.assertFalse(any(re.match(r"<[0-7]>", line) for line in plain.splitlines()), plain)


if __name__ == "__main__":
    unittest.main(verbosity=2)
