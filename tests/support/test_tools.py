#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests for the bundle schema, scripts/fg-sign and tests/support/make_building.py.

Run: /usr/bin/python3 tests/support/test_tools.py   (Debian's python3-cryptography and
python3-jsonschema; openssl for the demo key check)
"""

import base64
import copy
import datetime
import hashlib
import json
import os
import re
import stat
import subprocess
import tempfile
import unittest
from collections import Counter
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
FG_SIGN = ROOT / "scripts" / "fg-sign"
MAKE_BUILDING = ROOT / "tests" / "support" / "make_building.py"
SCHEMA = ROOT / "schema" / "registry-bundle.schema.json"
DEMO_MARKER = "# FIREGATE DEMO KEY - NOT FOR PRODUCTION"
PROVINCES = {"001", "031", "035", "048", "079"}
COLLECTIONS = ("zones", "units", "residents", "detectors")


def run(*argv):
    """Runs a tool (by its shebang, so that is tested too) and returns the finished process."""
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60)


def load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def b64(data):
    return base64.b64encode(data).decode()


def signed_message(rtype, record):
    """The spec's message, written out again here so fg-sign is checked against the spec."""
    body = {k: v for k, v in record.items() if k != "signature"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b"firegate-registry-v1\n" + rtype.encode() + b"\n" + canonical.encode()


def check_run(*argv):
    done = run(*argv)
    if done.returncode != 0:
        raise AssertionError(f"{argv} exited {done.returncode}: {done.stderr}")
    return done


class Fixture:
    """One temporary directory, a default bundle, signed and not, and two key pairs."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="fg-tools-")
        self.tmp = Path(self._tmp.name)
        self.validator = Draft202012Validator(
            json.loads(SCHEMA.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER)

        self.unsigned_path = self.tmp / "building.json"
        check_run(MAKE_BUILDING, self.unsigned_path)
        self.unsigned = load(self.unsigned_path)

        self.keys = {}  # name -> (private path, public path, key id)
        for name, demo in (("prod", []), ("demo", ["--demo"])):
            private, public = self.tmp / f"{name}.key.pem", self.tmp / f"{name}.pub.pem"
            done = check_run(FG_SIGN, "keygen", *demo, private, public)
            self.keys[name] = (private, public, done.stdout.strip())

        self.signed_path = self.tmp / "signed.json"
        check_run(FG_SIGN, "sign", "--key", self.keys["prod"][0], self.unsigned_path,
                  self.signed_path)
        self.signed = load(self.signed_path)

    def cleanup(self):
        self._tmp.cleanup()


FIXTURE = None


def setUpModule():
    global FIXTURE
    FIXTURE = Fixture()


def tearDownModule():
    FIXTURE.cleanup()


class ToolsTestCase(unittest.TestCase):
    """Reads the module's fixture; tests copy what they change."""

    @classmethod
    def setUpClass(cls):
        for name in ("tmp", "validator", "unsigned_path", "unsigned", "keys", "signed_path",
                     "signed"):
            setattr(cls, name, getattr(FIXTURE, name))

    check_run = staticmethod(check_run)

    def write(self, name, bundle):
        path = self.tmp / name
        path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
        return path

    def verify(self, path, key="prod"):
        return run(FG_SIGN, "verify", "--key", self.keys[key][1], path)


class SchemaTest(ToolsTestCase):

    def small_bundle(self):
        """One record of each kind from the signed bundle, plus a gpio and a multi detector."""
        b = self.signed
        detectors = [b["detectors"][0], b["detectors"][1]]
        detectors += [d for d in b["detectors"] if d["kind"] in ("call_point", "multi")][:2]
        return copy.deepcopy({**{k: b[k] for k in ("format", "version", "authority",
                                                    "generated_at", "building")},
                              "zones": b["zones"][:1], "units": b["units"][:1],
                              "residents": b["residents"][:1], "detectors": detectors})

    def errors(self, bundle):
        return list(self.validator.iter_errors(bundle))

    def test_schema_is_valid_2020_12(self):
        Draft202012Validator.check_schema(self.validator.schema)

    def test_generated_bundles_validate(self):
        for name, bundle in (("unsigned", self.unsigned), ("signed", self.signed)):
            with self.subTest(name):
                self.assertEqual([e.message for e in self.errors(bundle)], [])

    def test_accepts_optional_fields_left_out(self):
        b = self.small_bundle()
        self.assertEqual(self.errors(b), [])
        minimal = {"format": b["format"], "version": 1, "building": b["building"]}
        self.assertEqual(self.errors(minimal), [])
        gpio = b["detectors"][2]
        self.assertEqual(gpio["kind"], "call_point")
        gpio["source"] = {"type": "gpio", "chip": "gpiochip0", "line": 3}
        multi = b["detectors"][3]
        self.assertEqual(multi["kind"], "multi")
        del multi["heat_class"]
        self.assertEqual(self.errors(b), [])

    def test_rejects_bad_records(self):
        def unit(b): return b["units"][0]
        def resident(b): return b["residents"][0]
        def smoke(b): return b["detectors"][0]
        def heat(b): return b["detectors"][1]
        def call_point(b): return b["detectors"][2]

        cases = {
            "unknown record field": lambda b: unit(b).update(colour="red"),
            "unknown top-level member": lambda b: b.update(comment="hi"),
            "unknown source field": lambda b: smoke(b)["source"].update(chip="gpiochip0"),
            "heat_class on smoke": lambda b: smoke(b).update(heat_class="A1"),
            "heat_class on call point": lambda b: call_point(b).update(heat_class="A1"),
            "heat without heat_class": lambda b: heat(b).pop("heat_class"),
            "heat_class H": lambda b: heat(b).update(heat_class="H"),
            "9-digit citizen_id": lambda b: resident(b).update(citizen_id="012345678"),
            "citizen_id with a letter": lambda b: resident(b).update(citizen_id="01234567890A"),
            "control char in name": lambda b: resident(b).update(name="Lê Văn\x07An"),
            "DEL in name": lambda b: resident(b).update(name="Lê Văn An\x7f"),
            "final newline in name": lambda b: resident(b).update(name="Lê Văn An\n"),
            "final newline in id": lambda b: unit(b).update(address_id="012345678901\n"),
            "missing building": lambda b: b.pop("building"),
            "missing revision": lambda b: unit(b).pop("revision"),
            "revision 0": lambda b: unit(b).update(revision=0),
            "fractional revision": lambda b: unit(b).update(revision=1.5),
            "null name": lambda b: resident(b).update(name=None),
            "empty name": lambda b: resident(b).update(name=""),
            "floor 0": lambda b: unit(b).update(floor=0),
            "no unit and no floor": lambda b: call_point(b).pop("floor"),
            "repeated flag": lambda b: resident(b).update(flags=["infant", "infant"]),
            "unknown flag": lambda b: resident(b).update(flags=["tall"]),
            "unknown status": lambda b: resident(b).update(status="away"),
            "phone without +": lambda b: resident(b).update(phone="84 000 123 456"),
            "MQTT wildcard in device": lambda b: smoke(b)["source"].update(device="apt/#"),
            "unknown bridge": lambda b: smoke(b)["source"].update(bridge="homie"),
            "gpio line 1024": lambda b: call_point(b)["source"].update(line=1024),
            "63-byte signature": lambda b: unit(b).update(signature=b64(bytes(63))),
            "65-byte signature": lambda b: unit(b).update(signature=b64(bytes(65))),
            "version 2": lambda b: b.update(version=2),
            "generated_at not UTC": lambda b: b.update(generated_at="2026-11-23T08:00:00+07:00"),
            "report period 5 s": lambda b: heat(b).update(report_period_s=5),
        }
        for name, mutate in cases.items():
            with self.subTest(name):
                bundle = self.small_bundle()
                mutate(bundle)
                self.assertNotEqual(self.errors(bundle), [], "accepted")


class GeneratorTest(ToolsTestCase):

    def test_default_counts(self):
        b = self.unsigned
        self.assertEqual(len(b["units"]), 400)
        self.assertGreaterEqual(len(b["residents"]), 1000)
        self.assertGreaterEqual(len(b["detectors"]), 800)
        per_unit = Counter(r["unit"] for r in b["residents"])
        self.assertEqual(set(per_unit), {u["address_id"] for u in b["units"]})
        self.assertLessEqual(set(per_unit.values()), set(range(1, 6)))
        self.assertGreater(len(set(per_unit.values())), 3, "counts should vary")
        n = len(b["residents"])
        flagged = sum(1 for r in b["residents"] if r.get("flags"))
        moved = sum(1 for r in b["residents"] if r.get("status") == "moved_out")
        self.assertAlmostEqual(flagged / n, 0.10, delta=0.02)
        self.assertAlmostEqual(moved / n, 0.02, delta=0.01)
        kinds = Counter(d["kind"] for d in b["detectors"])
        self.assertEqual(kinds["call_point"], 21)  # 20 floors and the basement
        self.assertTrue(all(d["source"]["type"] == "gpio"
                            for d in b["detectors"] if d["kind"] == "call_point"))
        self.assertEqual({z["zone_id"] for z in b["zones"]}, {"stair-a", "stair-b", "car-park-b1"})

    def test_identifiers_are_synthetic_and_valid(self):
        b = self.unsigned
        address_ids = [u["address_id"] for u in b["units"]] + [b["building"]["location_id"]]
        self.assertEqual(len(set(address_ids)), len(address_ids))
        citizen_ids = [r["citizen_id"] for r in b["residents"]]
        self.assertEqual(len(set(citizen_ids)), len(citizen_ids))
        this_year = datetime.datetime.now(datetime.timezone.utc).year
        for cid in citizen_ids:
            self.assertRegex(cid, r"^[0-9]{12}$")
            self.assertIn(cid[:3], PROVINCES)
            year = 1900 + 100 * (int(cid[3]) // 2) + int(cid[4:6])
            self.assertTrue(1930 <= year <= min(2024, this_year), cid)
        for r in b["residents"]:
            if "phone" in r:
                self.assertRegex(r["phone"], r"^\+84 000 [0-9]{3} [0-9]{3}$")
            if "infant" in r.get("flags", []):
                self.assertGreaterEqual(int(r["citizen_id"][4:6]), 23)
        names = [r["name"] for r in b["residents"] if "name" in r]
        self.assertTrue(any(not n.isascii() for n in names))
        self.assertGreater(len(set(names)), 200)

    def test_references_hold(self):
        b = self.unsigned
        bid = b["building"]["location_id"]
        floors = range(-b["building"].get("floors_below", 0), b["building"]["floors_above"] + 1)
        unit_floor = {u["address_id"]: u["floor"] for u in b["units"]}
        zones = {z["zone_id"] for z in b["zones"]}
        for collection in ("zones", "units", "detectors"):
            self.assertTrue(all(r["building"] == bid for r in b[collection]), collection)
        self.assertTrue(all(f in floors and f != 0 for f in unit_floor.values()))
        self.assertTrue(all(r["unit"] in unit_floor for r in b["residents"]))
        ids = [d["detector_id"] for d in b["detectors"]]
        self.assertEqual(len(set(ids)), len(ids))
        lines = []
        for d in b["detectors"]:
            if "unit" in d:
                self.assertIn(d["unit"], unit_floor)
                self.assertEqual(d.get("floor", unit_floor[d["unit"]]), unit_floor[d["unit"]])
            else:
                self.assertIn(d["floor"], floors)
            if "zone" in d:
                self.assertIn(d["zone"], zones)
            if d["source"]["type"] == "gpio":
                lines += [d["source"]["line"], d["source"]["fault_line"]]
        self.assertEqual(len(set(lines)), len(lines))

    def test_deterministic(self):
        again = self.tmp / "again.json"
        self.check_run(MAKE_BUILDING, "--seed", "1", again)
        self.assertEqual(again.read_bytes(), self.unsigned_path.read_bytes())
        other = self.tmp / "seed2.json"
        self.check_run(MAKE_BUILDING, "--seed", "2", other)
        self.assertNotEqual(other.read_bytes(), self.unsigned_path.read_bytes())

    def test_options(self):
        out = self.tmp / "small.json"
        self.check_run(MAKE_BUILDING, "--floors", "3", "--units-per-floor", "4",
                       "--residents-per-unit", "3", "--detectors-per-unit", "4",
                       "--basement", "2", "--revision", "7", "--building-id", "000000000042",
                       "--generated-at", "2026-11-23T08:00:00Z", "--seed", "5", out)
        b = load(out)
        self.assertEqual(self.validator.is_valid(b), True)
        self.assertEqual(b["generated_at"], "2026-11-23T08:00:00Z")
        self.assertEqual(b["building"]["location_id"], "000000000042")
        self.assertEqual(b["building"]["floors_below"], 2)
        self.assertEqual(len(b["units"]), 12)
        self.assertEqual(len(b["residents"]), 36)
        self.assertEqual(sum(1 for d in b["detectors"] if "unit" in d), 48)
        records = [b["building"]] + [r for c in COLLECTIONS for r in b[c]]
        self.assertTrue(all(r["revision"] == 7 for r in records))
        self.assertNotEqual(run(MAKE_BUILDING, "--floors", "0", out).returncode, 0)


class SignTest(ToolsTestCase):

    def test_round_trip(self):
        done = self.verify(self.signed_path)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(done.stdout, "")
        self.assertEqual(self.signed["authority"], self.keys["prod"][2])
        self.assertEqual(list(self.signed)[:3], ["format", "version", "authority"])
        records = [self.signed["building"]] + [r for c in COLLECTIONS for r in self.signed[c]]
        self.assertTrue(all(re.fullmatch(r"[A-Za-z0-9+/]{86}==", r["signature"])
                            for r in records))
        # Signing changes nothing but the signatures and the authority.
        stripped = copy.deepcopy(self.signed)
        del stripped["authority"]
        for r in [stripped["building"]] + [r for c in COLLECTIONS for r in stripped[c]]:
            del r["signature"]
        self.assertEqual(stripped, self.unsigned)

    def test_signatures_follow_the_spec(self):
        public_pem = self.keys["prod"][1].read_bytes()
        public = serialization.load_pem_public_key(public_pem)
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.assertEqual(hashlib.sha256(raw).digest()[:8].hex(), self.keys["prod"][2])
        resident = self.signed["residents"][0]
        signature = base64.b64decode(resident["signature"])
        public.verify(signature, signed_message("resident", resident))
        with self.assertRaises(Exception):  # the type is part of the message
            public.verify(signature, signed_message("unit", resident))
        building = self.signed["building"]
        public.verify(base64.b64decode(building["signature"]),
                      signed_message("building", building))

    def small_signed(self, name):
        unsigned = self.tmp / f"{name}.unsigned.json"
        signed = self.tmp / f"{name}.json"
        self.check_run(MAKE_BUILDING, "--floors", "2", "--units-per-floor", "10", unsigned)
        self.check_run(FG_SIGN, "sign", "--key", self.keys["prod"][0], unsigned, signed)
        return signed, load(signed)

    def test_tampering_names_the_record(self):
        path, bundle = self.small_signed("tamper")
        unit = bundle["units"][17]
        unit["number"] = "99.99"
        bundle["residents"][3].pop("signature")
        bundle["detectors"][5]["signature"] = "not base64!"
        done = self.verify(self.write("tampered.json", bundle))
        self.assertEqual(done.returncode, 1)
        r3, d5 = bundle["residents"][3], bundle["detectors"][5]
        self.assertEqual(done.stdout.splitlines(), [
            f"units[17] ({unit['address_id']}): signature does not verify",
            f"residents[3] ({r3['resident_id']}): no signature",
            f"detectors[5] ({d5['detector_id']}): signature is not base64 of 64 bytes",
        ])

    def test_resign_with_another_key(self):
        path, _ = self.small_signed("resign")
        out = self.tmp / "resigned.json"
        self.check_run(FG_SIGN, "sign", "--key", self.keys["demo"][0], path, out)
        self.assertEqual(load(out)["authority"], self.keys["demo"][2])
        self.assertEqual(self.verify(out, "demo").returncode, 0)
        done = self.verify(out, "prod")
        self.assertEqual(done.returncode, 1)
        self.assertIn("authority", done.stderr)
        self.assertEqual(len(done.stdout.splitlines()), len(load(out)["units"]) + 1 +
                         sum(len(load(out)[c]) for c in ("zones", "residents", "detectors")))

    def test_keys(self):
        for name, (private, public, kid) in self.keys.items():
            with self.subTest(name):
                self.assertRegex(kid, r"^[0-9a-f]{16}$")
                self.assertEqual(stat.S_IMODE(os.stat(private).st_mode), 0o600)
                first_lines = {p.read_text().splitlines()[0] for p in (private, public)}
                if name == "demo":
                    self.assertEqual(first_lines, {DEMO_MARKER})
                else:
                    self.assertEqual(first_lines, {"-----BEGIN PRIVATE KEY-----",
                                                   "-----BEGIN PUBLIC KEY-----"})
                self.assertEqual(run("openssl", "pkey", "-in", private, "-noout").returncode, 0)
                self.assertEqual(
                    run("openssl", "pkey", "-pubin", "-in", public, "-noout").returncode, 0)
        self.assertNotEqual(self.keys["prod"][2], self.keys["demo"][2])

    def test_keygen_never_replaces_a_file(self):
        private, public, _ = self.keys["prod"]
        before = private.read_bytes()
        done = run(FG_SIGN, "keygen", private, self.tmp / "new.pub.pem")
        self.assertEqual(done.returncode, 2)
        self.assertIn(str(private), done.stderr)
        self.assertEqual(private.read_bytes(), before)
        self.assertFalse((self.tmp / "new.pub.pem").exists())

    def test_bad_input(self):
        key = self.keys["prod"][0]
        good = self.unsigned
        cases = {
            "missing file": (None, "No such file"),
            "not JSON": ("{", "not valid JSON"),
            "duplicate member": ('{"format": 1, "format": 2}', "duplicate member"),
            "wrong format": (json.dumps({**good, "format": "x"}), '"format"'),
            "missing building": (json.dumps({k: v for k, v in good.items() if k != "building"}),
                                 '"building" is missing'),
            "float in a record": (
                json.dumps({**good, "units": [{**good["units"][0], "floor": 1.0}]}),
                "units[0].floor: 1.0"),
            "record not an object": (json.dumps({**good, "zones": ["stair-a"]}),
                                     "zones[0]: not an object"),
        }
        for name, (text, message) in cases.items():
            with self.subTest(name):
                path = self.tmp / f"bad-{name.replace(' ', '-')}.json"
                if text is not None:
                    path.write_text(text)
                out = self.tmp / "never.json"
                done = run(FG_SIGN, "sign", "--key", key, path, out)
                self.assertEqual(done.returncode, 2)
                self.assertTrue(done.stderr.startswith(f"fg-sign: {path}: "), done.stderr)
                self.assertIn(message, done.stderr)
                self.assertFalse(out.exists())
        done = run(FG_SIGN, "sign", "--key", self.keys["prod"][1], self.unsigned_path,
                   self.tmp / "never.json")
        self.assertEqual(done.returncode, 2)
        self.assertIn("not an unencrypted PEM private key", done.stderr)


if __name__ == "__main__":
    unittest.main()
