#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/gpio-vm against a real kernel GPIO driver: the cache is prepared once and a second
prepare does nothing; in the VM, libgpiod's own tools read the simulated pull, drive lines
that the simulator reads back, and see every edge of a toggled input in order; the guest
script's status is the run's status, and a guest that never finishes is killed at the timeout.

The cache is $FIREGATE_BUILD_DIR/gpio-vm, so only the first run on a build directory pays
for the download and the module build (docs/gpio-vm.md).
"""

import os
import re
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

GPIO_VM = fgtest.ROOT / "scripts" / "gpio-vm"
BUILD = Path(os.environ.get("FIREGATE_BUILD_DIR", fgtest.ROOT / "build" / "debug"))
CACHE = BUILD / "gpio-vm"
TOOLS = ["gpiodetect", "gpioinfo", "gpiofind", "gpioget", "gpioset", "gpiomon"]
LINE_NAME = "smoke-hall"
SCRIPT_STATUS = 7

# Runs in the guest with /bin/sh (busybox). Waits on conditions, never on fixed sleeps: TCG
# sleeps overshoot and a loaded CI machine makes them worse.
GUEST_SCRIPT = r"""
. "$GPIO_VM_LIB"
set -u
echo "ENV GPIO_DEV=$GPIO_DEV GPIO_CHIP=$GPIO_CHIP GPIO_SIM_DIR=$GPIO_SIM_DIR"
echo "DETECT $(gpiodetect)"
echo "FIND $(gpiofind smoke-hall)"
echo "FILE $(cat /etc/probe/file.txt)"
echo "PROBE_ENV $PROBE_ENV"

# (a) an input: gpioget reads what the simulator pulls.
sim_pull 3 pull-up
echo "GET pull-up $(gpioget "$GPIO_CHIP" 3)"
sim_pull 3 pull-down
echo "GET pull-down $(gpioget "$GPIO_CHIP" 3)"

# (b) outputs: what gpioset drives is what sim_value reads, against the pull; once released,
# the line follows the pull again.
sim_pull 5 pull-up
gpioset --mode=signal "$GPIO_CHIP" 5=0 &
setter=$!
sim_wait_value 5 0 && echo "SET driven-low $(sim_value 5)"
kill "$setter"
wait "$setter"
sim_wait_value 5 1 && echo "SET released $(sim_value 5)"
gpioset --mode=signal "$GPIO_CHIP" 6=1 &
setter=$!
sim_wait_value 6 1 && echo "SET driven-high $(sim_value 6)"
kill "$setter"
wait "$setter"
sim_wait_value 6 0 && echo "SET released $(sim_value 6)"

# (c) edges: gpiomon has the line before the first toggle (its consumer shows in gpioinfo).
gpiomon --num-events=4 --line-buffered --format='%e %o %s.%n' "$GPIO_CHIP" 7 >/tmp/mon.out &
monitor=$!
vm_wait 10 sh -c 'gpioinfo "$GPIO_CHIP" | grep -q "line *7:.*\"gpiomon\""' ||
	echo "gpiomon never requested line 7"
for pull in pull-up pull-down pull-up pull-down; do
	sim_pull 7 "$pull"
	usleep 20000
done
vm_wait 10 sh -c '[ "$(wc -l </tmp/mon.out)" -ge 4 ]' || echo "gpiomon saw fewer than 4 edges"
wait "$monitor"
echo "MON status $?"
sed 's/^/EVENT /' /tmp/mon.out
""" + f"exit {SCRIPT_STATUS}\n"


def gpio_vm(*args, timeout, input=None):
    started = time.monotonic()
    done = fgtest.run(GPIO_VM, *args, timeout=timeout, input=input)
    return done, time.monotonic() - started


def explain(done):
    return f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"


class GpioVmSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prepared, cls.prepare_seconds = gpio_vm("prepare", "--cache", CACHE, timeout=280)
        if cls.prepared.returncode != 0:
            raise AssertionError(f"gpio-vm prepare failed: {explain(cls.prepared)}")
        cls.again, cls.again_seconds = gpio_vm("prepare", "--cache", CACHE, timeout=60)
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / "probe.txt"
            probe.write_text("copied from the host\n")
            args = ["run", "--cache", CACHE, "--script", "-", "--timeout", "120",
                    "--line-name", f"7={LINE_NAME}", "--file", f"{probe}:/etc/probe/file.txt",
                    "--env", "PROBE_ENV=two words"]
            for tool in TOOLS:
                args += ["--bin", tool]
            cls.ran, cls.run_seconds = gpio_vm(*args, timeout=150, input=GUEST_SCRIPT)
        print(f"gpio-vm: prepare {cls.prepare_seconds:.1f} s, again {cls.again_seconds:.2f} s, "
              f"run {cls.run_seconds:.1f} s", file=sys.stderr)

    def lines(self, tag):
        """The guest's output lines that start with @tag, without it."""
        return [line[len(tag) + 1:] for line in self.ran.stdout.splitlines()
                if line.startswith(tag + " ")]

    def test_a_second_prepare_does_nothing(self):
        self.assertEqual(self.again.returncode, 0, explain(self.again))
        self.assertIn("cache ready", self.again.stderr)
        self.assertNotIn("download", self.again.stderr)
        # It takes a few hundredths of a second; the margin is for a loaded CI machine.
        self.assertLess(self.again_seconds, 5)

    def test_the_script_status_is_the_run_status(self):
        self.assertEqual(self.ran.returncode, SCRIPT_STATUS, explain(self.ran))
        self.assertIn("GPIO-VM-INIT", self.ran.stdout.splitlines())
        self.assertIn(f"GPIO-VM-EXIT {SCRIPT_STATUS}", self.ran.stdout.splitlines())

    def test_the_guest_environment_names_the_simulated_chip(self):
        self.assertEqual(self.lines("ENV"), [
            "GPIO_DEV=gpio-sim.0 GPIO_CHIP=gpiochip0 "
            "GPIO_SIM_DIR=/sys/devices/platform/gpio-sim.0/gpiochip0"], explain(self.ran))
        self.assertEqual(self.lines("DETECT"), ["gpiochip0 [firegate-sim] (16 lines)"])
        self.assertEqual(self.lines("FIND"), ["gpiochip0 7"])

    def test_files_and_variables_reach_the_script(self):
        self.assertEqual(self.lines("FILE"), ["copied from the host"], explain(self.ran))
        self.assertEqual(self.lines("PROBE_ENV"), ["two words"])

    def test_gpioget_reads_the_simulated_pull(self):
        self.assertEqual(self.lines("GET"), ["pull-up 1", "pull-down 0"], explain(self.ran))

    def test_what_gpioset_drives_is_what_the_simulator_reads(self):
        self.assertEqual(self.lines("SET"), ["driven-low 0", "released 1",
                                             "driven-high 1", "released 0"], explain(self.ran))

    def test_gpiomon_sees_every_toggle_in_order(self):
        self.assertEqual(self.lines("MON"), ["status 0"], explain(self.ran))
        events = [line.split() for line in self.lines("EVENT")]
        self.assertEqual([(kind, offset) for kind, offset, _ in events],
                         [("1", "7"), ("0", "7"), ("1", "7"), ("0", "7")], explain(self.ran))
        # gpiomon 1.6 prints %n without zero padding: rebuild the nanoseconds before comparing.
        stamps = []
        for _, _, stamp in events:
            seconds, nanoseconds = stamp.split(".")
            stamps.append(int(seconds) * 10**9 + int(nanoseconds))
        self.assertEqual(stamps, sorted(set(stamps)), events)

    def test_a_guest_that_never_finishes_is_killed_at_the_timeout(self):
        done, seconds = gpio_vm("run", "--cache", CACHE, "--script", "-", "--timeout", "3",
                                timeout=60, input="echo waiting\nsleep 600\n")
        self.assertEqual(done.returncode, 124, explain(done))
        self.assertRegex(done.stderr, re.compile(r"timed out after 3(\.0)? s; qemu killed"))
        self.assertLess(seconds, 30)


if __name__ == "__main__":
    unittest.main()
