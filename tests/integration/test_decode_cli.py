#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`firegate decode` as an installer uses it to check a device: the readings of a message as a
table and as JSON, the payload from standard input, device definitions learnt first, the base
topic from the config or --base, and the exit status that tells a good message from a refused
one without the payload echoed back.
"""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

OK, FAILURE, USAGE, REFUSED = 0, 1, 2, 3

HEIMAN_TEST_PRESS = ('{"battery":100,"battery_low":false,"linkquality":120,"smoke":true,'
                     '"test":true,"voltage":3000}')

DEVICES = [
    {"ieee_address": "0x00124b0000000001", "type": "Coordinator", "friendly_name": "Coordinator"},
    {"ieee_address": "0x00158d0000000002", "type": "EndDevice", "friendly_name": "floor1/worded",
     "definition": {"model": "X3", "vendor": "Example", "exposes": [
         {"access": 1, "name": "smoke", "property": "smoke", "type": "binary",
          "value_on": "alarm", "value_off": "clear"},
         {"access": 3, "name": "alarm", "property": "alarm", "type": "binary",
          "value_on": "ON", "value_off": "OFF"}]}},
]


def rows(text):
    """The table's rows as lists of cells, without the header."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    assert lines and lines[0] == ["device", "reading", "value", "flags"], text
    return lines[1:]


class Decode(unittest.TestCase):
    def setUp(self):
        self.gw = fgtest.Gateway(extra_config="[bridges]\ngeneric_prefix = site/fire\n")

    def tearDown(self):
        self.gw.cleanup()

    def decode(self, *args, check=None, input=None):
        return self.gw.firegate("decode", *args, check=check, input=input)

    def test_help(self):
        out = self.decode("--help", check=OK).stdout
        self.assertIn("Usage: firegate [--config PATH] decode --bridge BRIDGE", out)
        self.assertIn("decode", fgtest.run(fgtest.BIN, "--help", check=OK).stdout)

    def test_test_press_as_a_table_with_the_test_flag(self):
        done = self.decode("--bridge", "zigbee2mqtt", "zigbee2mqtt/hall", HEIMAN_TEST_PRESS,
                           check=OK)
        self.assertEqual(rows(done.stdout), [["hall", "test", "1", "-"],
                                             ["hall", "smoke", "1", "test"],
                                             ["hall", "battery_low", "0", "-"],
                                             ["hall", "battery", "100", "-"]])

    def test_json_and_standard_input(self):
        done = self.decode("--bridge", "tasmota", "--json", "tele/kitchen/SENSOR", "-", check=OK,
                           input='{"DS18B20":{"Temperature":212.0},"TempUnit":"F",'
                                 '"Switch1":"ON"}')
        self.assertEqual(json.loads(done.stdout), [
            {"device": "kitchen", "reading": "smoke", "value": 1, "flags": []},
            {"device": "kitchen", "reading": "temperature", "value": 100, "flags": []},
        ])
        done = self.decode("--bridge", "zigbee2mqtt", "--json", "zigbee2mqtt/hall",
                           HEIMAN_TEST_PRESS, check=OK)
        self.assertEqual(json.loads(done.stdout)[1]["flags"], ["test"])

    def test_nothing_to_report_says_why(self):
        done = self.decode("--bridge", "esphome", "kitchen/sensor/humidity/state", "55.0",
                           check=OK)
        self.assertIn("nothing to report: a sensor that is neither", done.stdout)
        done = self.decode("--bridge", "esphome", "--json", "kitchen/sensor/humidity/state",
                           "55.0", check=OK)
        self.assertEqual(json.loads(done.stdout), [])
        self.assertIn("nothing to report", done.stderr)

    def test_refused_messages_exit_3_without_echoing_the_payload(self):
        secret = "079199001234"
        for args in (["--bridge", "zigbee2mqtt", "zigbee2mqtt/hall", '{"smoke":"' + secret],
                     ["--bridge", "zigbee2mqtt", "zigbee2mqtt/hall", f'[{secret}]'],
                     ["--bridge", "zigbee2mqtt", "zigbee2mqtt/hall/availability", secret],
                     ["--bridge", "tasmota", "tele/kitchen/LWT", secret],
                     ["--bridge", "zigbee2mqtt", "zigbee2mqtt/hall",
                      f'{{"smoke":1,"smoke":"{secret}"}}']):
            done = self.decode(*args, check=REFUSED)
            self.assertIn("refused (malformed)", done.stderr)
            self.assertNotIn(secret, done.stdout + done.stderr)
        done = self.decode("--bridge", "zigbee2mqtt", "zigbee2mqtt/hall/set", "{}",
                           check=REFUSED)
        self.assertIn("not a detector's topic", done.stderr)

    def test_oversized_payload_from_standard_input(self):
        done = self.decode("--bridge", "generic", "site/fire/a", "-", check=REFUSED,
                           input='{"smoke":true,"pad":"' + "x" * 16384 + '"}')
        self.assertIn("over the cap", done.stderr)

    def test_not_a_number_passed_on_exits_3_and_shows_it(self):
        done = self.decode("--bridge", "esphome", "kitchen/sensor/temperature/state", "nan",
                           check=REFUSED)
        self.assertEqual(rows(done.stdout), [["kitchen/temperature", "temperature", "nan", "-"]])
        self.assertIn("not-a-number", done.stderr)

    def test_device_definitions_learnt_first(self):
        devices = self.gw.dir / "devices.json"
        devices.write_text(json.dumps(DEVICES))
        payload = '{"alarm":"ON","smoke":"alarm"}'
        # Without the definitions "alarm" is no boolean (NaN), and the settable alarm is read.
        done = self.decode("--bridge", "zigbee2mqtt", "zigbee2mqtt/floor1/worded", payload,
                           check=REFUSED)
        self.assertEqual(rows(done.stdout), [["floor1/worded", "smoke", "1", "-"]])
        done = self.decode("--bridge", "zigbee2mqtt", "--devices", str(devices),
                           "zigbee2mqtt/floor1/worded", payload, check=OK)
        self.assertEqual(rows(done.stdout), [["floor1/worded", "smoke", "1", "-"]])
        done = self.decode("--bridge", "zigbee2mqtt", "--devices", str(devices),
                           "zigbee2mqtt/floor1/worded", '{"alarm":"ON","smoke":"clear"}',
                           check=OK)
        self.assertEqual(rows(done.stdout), [["floor1/worded", "smoke", "0", "-"]])
        bad = self.gw.dir / "bad.json"
        bad.write_text('{"not": "a list"}')
        done = self.decode("--bridge", "zigbee2mqtt", "--devices", str(bad),
                           "zigbee2mqtt/floor1/worded", payload, check=REFUSED)
        self.assertIn("device definitions refused", done.stderr)
        self.decode("--bridge", "zigbee2mqtt", "--devices", str(self.gw.dir / "missing.json"),
                    "zigbee2mqtt/a", "{}", check=FAILURE)

    def test_base_from_the_config_or_the_command_line(self):
        self.decode("--bridge", "generic", "site/fire/a", '{"heat":true}', check=OK)
        self.decode("--bridge", "generic", "firegate/detectors/a", '{"heat":true}',
                    check=REFUSED)
        done = self.decode("--bridge", "generic", "--base", "firegate/detectors",
                           "firegate/detectors/a", '{"heat":true}', check=OK)
        self.assertEqual(rows(done.stdout), [["a", "heat_alarm", "1", "-"]])
        done = self.decode("--bridge", "zigbee2mqtt", "zigbee2mqtt/bridge/state",
                           '{"state":"offline"}', check=OK)
        self.assertEqual(rows(done.stdout), [["(bridge)", "availability", "0", "-"]])

    def test_usage_errors(self):
        self.assertIn("--bridge is required",
                      self.decode("zigbee2mqtt/a", "{}", check=USAGE).stderr)
        err = self.decode("--bridge", "zigbee-079199001234", "a", "{}", check=USAGE).stderr
        self.assertIn("--bridge must be", err)
        self.assertNotIn("079199001234", err)
        self.assertIn("expected TOPIC and PAYLOAD",
                      self.decode("--bridge", "tasmota", "tele/a/LWT", check=USAGE).stderr)
        self.assertIn("--devices is for",
                      self.decode("--bridge", "tasmota", "--devices", "x", "a", "b",
                                  check=USAGE).stderr)
        self.assertIn("--base must be a topic",
                      self.decode("--bridge", "generic", "--base", "a/#", "a/b", "{}",
                                  check=USAGE).stderr)


if __name__ == "__main__":
    unittest.main()
