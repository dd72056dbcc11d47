#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The gateway's wired side against a real kernel GPIO driver: Debian's own kernel booted in
qemu with gpio-sim (scripts/gpio-vm, docs/gpio-vm.md), `firegate run` with two Mosquitto
brokers inside the VM (the building's, and one standing in for the platform's), and the
building's manual call points wired to simulated lines as the synthetic registry has them
(active-low contacts, each with an end-of-line fault line), and a bell relay on another line.

Each contact is simulated by changing the pull of its line. Shown: a glitch shorter than the
debounce time raises nothing; a held contact becomes an alarm, an incident and an alert
upstream, and drives the bell; silencing stops the bell; a loop's fault line becomes that
detector's fault; the bell is back in its safe state when the gateway stops. The delay from
the kernel's edge stamp to the committed incident is printed.
"""

import json
import os
import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

GPIO_VM = fgtest.ROOT / "scripts" / "gpio-vm"
BUILD = Path(os.environ.get("FIREGATE_BUILD_DIR", fgtest.ROOT / "build" / "debug"))
CACHE = BUILD / "gpio-vm"
LABEL = "firegate-io"  # the chip the synthetic registry's call points name
BELL = 10

GUEST_CONFIG = f"""[gateway]
id = gw-vm
state_dir = /var/lib/firegate
[registry]
authority_key = /etc/firegate/authority.pub
[rules]
dir = /etc/firegate/rules
[broker]
port = 1883
[uplink]
uris = tcp://127.0.0.1:1884
insecure = yes
[relay bell]
chip = {LABEL}
line = {BELL}
safe_state = off
[control]
runtime_dir = /run/firegate
"""

BROKER = "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n"

# Runs in the guest (busybox sh); $FG is the gateway's binary, at its host path. The call points: f1 on lines 0 (loop) and 1 (fault), f2 on
# 2 and 3, b1 on 4 and 5; active-low, so pull-up is a closed-circuit normal loop.
GUEST_SCRIPT = r"""
. "$GPIO_VM_LIB"
set -u
for line in 0 1 2 3 4 5; do sim_pull $line pull-up; done
mosquitto -c /etc/mosquitto/building.conf -d
mosquitto -c /etc/mosquitto/upstream.conf -d
mkdir -p /run/firegate
# The platform's subscriber, known to listen once it has seen a probe.
mosquitto_sub -p 1884 -t 'firegate/v1/+/alert' -v >/tmp/alerts 2>/dev/null &
vm_wait 20 sh -c 'mosquitto_pub -p 1884 -t firegate/v1/probe/alert -m probe 2>/dev/null;
                   grep -q probe /tmp/alerts' || { echo "NO-UPSTREAM"; exit 3; }
"$FG" --config /etc/firegate/firegate.conf run >/tmp/fg.log 2>&1 &
fg=$!
has() { grep -q "$1" /tmp/fg.log; }
vm_wait 60 has 'firegate: ready' || { cat /tmp/fg.log; echo "NO-READY"; exit 3; }
vm_wait 30 has 'f1-callpoint: loop normal' || { cat /tmp/fg.log; exit 3; }
vm_wait 10 has 'uplink tcp://127.0.0.1:1884: connected' || { cat /tmp/fg.log; exit 3; }
echo "BELL-AT-START $(sim_value 10)"

# A 2 ms glitch (5-9 ms under TCG), well under the 50 ms debounce: nothing.
sim_pull 0 pull-down; usleep 2000; sim_pull 0 pull-up
sleep 1
echo "GLITCH-ALARMS $(grep -c 'critical: alarm' /tmp/fg.log)"

# The contact held: an alarm, the bell, an alert upstream.
sim_pull 0 pull-down
vm_wait 10 has 'critical: alarm f1-callpoint' || { cat /tmp/fg.log; exit 4; }
vm_wait 10 has 'f1-callpoint: loop active' || exit 4
sim_wait_value 10 1 5
echo "BELL-ON $(sim_value 10)"
vm_wait 10 grep -q fire_alarm /tmp/alerts
echo "ALERT $(grep fire_alarm /tmp/alerts | head -n 1 | cut -d' ' -f2-)"
echo "INCIDENTS $("$FG" --config /etc/firegate/firegate.conf incidents --kind alarm --json | tr -d '\n')"

# Silence: the bell stops.
echo "SILENCE $("$FG" --config /etc/firegate/firegate.conf silence building 2>&1)"
sim_wait_value 10 0 5
echo "BELL-AFTER-SILENCE $(sim_value 10)"

# f2's end-of-line supervision: its fault line active is its fault.
sim_pull 3 pull-down
vm_wait 10 has 'fault f2-callpoint device' || { cat /tmp/fg.log; exit 5; }
echo "FAULT $(grep 'fault f2-callpoint' /tmp/fg.log | head -n 1)"

# A new alarm sounds the bell again; at stop it goes back to its safe state.
sim_pull 4 pull-down
vm_wait 10 has 'critical: alarm b1-callpoint' || exit 6
sim_wait_value 10 1 5
echo "BELL-ON-AGAIN $(sim_value 10)"
kill -TERM $fg
wait $fg
echo "EXIT $?"
echo "BELL-AT-EXIT $(sim_value 10)"
grep 'after the edge' /tmp/fg.log | sed 's/^/EDGE /'
grep -E 'runtime error|Sanitizer' /tmp/fg.log | sed 's/^/SANITIZER /'
exit 0
"""


class WiredOnARealKernel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        prepared = fgtest.run(GPIO_VM, "prepare", "--cache", CACHE, timeout=280)
        if prepared.returncode != 0:
            raise AssertionError(f"gpio-vm prepare failed:\n{prepared.stderr}")
        gw = fgtest.Gateway()
        try:
            gw.firegate("import", gw.bundle(floors=2, units_per_floor=2, basement=1), check=0)
            d = gw.dir
            (d / "firegate.conf.vm").write_text(GUEST_CONFIG)
            (d / "building.conf").write_text(BROKER.format(port=1883))
            (d / "upstream.conf").write_text(BROKER.format(port=1884))
            (d / "script.sh").write_text(GUEST_SCRIPT)
            files = [f"{d / 'firegate.conf.vm'}:/etc/firegate/firegate.conf",
                     f"{gw.pub}:/etc/firegate/authority.pub",
                     f"{d / 'building.conf'}:/etc/mosquitto/building.conf",
                     f"{d / 'upstream.conf'}:/etc/mosquitto/upstream.conf"]
            for f in sorted(gw.state.iterdir()):
                files.append(f"{f}:/var/lib/firegate/{f.name}")
            for f in sorted((fgtest.ROOT / "rules").glob("*.rules")):
                files.append(f"{f}:/etc/firegate/rules/{f.name}")
            argv = ["run", "--cache", CACHE, "--script", d / "script.sh", "--timeout", "240",
                    "--label", LABEL, "--lines", "16",
                    # ASan's shadow memory is reserved, not used: 512 MiB of guest is enough.
                    "--env", "ASAN_OPTIONS=detect_leaks=0", "--env", f"FG={fgtest.BIN}",
                    "--bin", fgtest.BIN, "--bin", "/usr/sbin/mosquitto",
                    "--bin", "/usr/bin/mosquitto_sub", "--bin", "/usr/bin/mosquitto_pub"]
            for f in files:
                argv += ["--file", f]
            cls.run_result = fgtest.run(GPIO_VM, *argv, timeout=300)
        finally:
            gw.cleanup()
        cls.out = cls.run_result.stdout

    def value(self, tag):
        m = re.search(rf"^{tag} (.*)$", self.out, re.M)
        self.assertIsNotNone(m, f"no {tag} line; the VM said:\n{self.out}\n{self.run_result.stderr}")
        return m.group(1).strip()

    def test_the_scenario_ran_to_the_end(self):
        self.assertEqual(self.run_result.returncode, 0,
                         f"{self.out}\n{self.run_result.stderr}")
        self.assertEqual(self.value("EXIT"), "0")
        self.assertNotIn("SANITIZER", self.out)

    def test_a_glitch_shorter_than_the_debounce_raises_nothing(self):
        self.assertEqual(self.value("GLITCH-ALARMS"), "0")

    def test_a_held_contact_is_an_incident_and_an_alert_upstream(self):
        incidents = json.loads(self.value("INCIDENTS"))
        self.assertEqual([i["detector"] for i in incidents][:1], ["f1-callpoint"])
        alert = json.loads(self.value("ALERT"))
        self.assertEqual(alert["event"], "fire_alarm")
        self.assertEqual(alert["detectors"][0]["id"], "f1-callpoint")
        self.assertEqual(alert["detectors"][0]["kind"], "call_point")
        self.assertEqual(alert["incident"], incidents[0]["id"])

    def test_the_bell_follows_alarm_silence_and_stop(self):
        self.assertEqual(self.value("BELL-AT-START"), "0")
        self.assertEqual(self.value("BELL-ON"), "1")
        self.assertEqual(self.value("BELL-AFTER-SILENCE"), "0")
        self.assertEqual(self.value("BELL-ON-AGAIN"), "1")
        self.assertEqual(self.value("BELL-AT-EXIT"), "0")
        self.assertIn("silence building by uid 0", self.value("SILENCE"))

    def test_the_fault_line_is_the_detectors_fault(self):
        self.assertIn("fault f2-callpoint device", self.value("FAULT"))

    def test_edge_to_incident_delay_is_reported(self):
        delays = [float(m) for m in re.findall(
            r"^EDGE .*f1-callpoint: loop active \(alarm contact\), ([0-9.]+) ms after", self.out,
            re.M)]
        self.assertEqual(len(delays), 1, self.out)
        # The 50 ms debounce is in it; under TCG the rest is a few tens of milliseconds.
        self.assertGreaterEqual(delays[0], 50)
        self.assertLess(delays[0], 2000)
        print(f"\nedge to incident in the VM: {delays[0]:.1f} ms (debounce 50 ms included)",
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
