#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The verified registry end to end, through the real binary and real SQLite files.

A synthetic 20-storey building (400 units, 1,000 residents, 872 detectors) is generated,
signed by scripts/fg-sign (an independent Python implementation of the signing rules) and
imported; then the same bundle again, a bundle with one tampered record, corrupt and truncated
files, another key, unsigned records, and a newer revision. After every refusal the store must
be exactly as it was.
"""

import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402

REFUSED = 3


class BigBuilding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = fgtest.Gateway()
        cls.signed = cls.gw.bundle("building.json", floors=20, units_per_floor=20)
        cls.data = fgtest.load_json(cls.signed)
        done = cls.gw.firegate("import", cls.signed, check=0)
        cls.first_import = done.stdout
        cls.before = cls.gw.dump()

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()

    def assert_unchanged(self):
        self.assertEqual(self.gw.dump(), self.before, "the store changed after a refusal")

    def refuse(self, path, *extra):
        done = self.gw.firegate("import", *extra, path)
        self.assertEqual(done.returncode, REFUSED, done.stderr)
        self.assertIn("nothing was stored", done.stderr)
        self.assert_unchanged()
        return done.stderr

    def test_bundle_is_big_enough_and_matches_the_schema(self):
        d = self.data
        self.assertGreaterEqual(len(d["units"]), 400)
        self.assertGreaterEqual(len(d["residents"]), 1000)
        self.assertGreaterEqual(len(d["detectors"]), 800)
        self.assertEqual(d["building"]["floors_above"], 20)
        schema = fgtest.load_json(fgtest.SCHEMA)
        errors = list(Draft202012Validator(schema).iter_errors(d))
        self.assertEqual(errors, [])

    def test_first_import_inserts_every_record_verified(self):
        total = 1 + sum(len(self.data[k]) for k in ("zones", "units", "residents", "detectors"))
        row = re.search(r"^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", self.first_import,
                        re.M)
        self.assertIsNotNone(row, self.first_import)
        self.assertEqual([int(x) for x in row.groups()], [total, 0, 0, 0, 0])
        self.assertIn(f"verified with authority key {self.gw.key_id}", self.first_import)
        self.assertNotIn("DEMO", self.first_import)

    def test_listings_show_every_record_with_its_verification(self):
        units = self.gw.json("units")
        residents = self.gw.json("residents")
        detectors = self.gw.json("detectors")
        self.assertEqual(len(units), len(self.data["units"]))
        self.assertEqual(len(residents), len(self.data["residents"]))
        self.assertEqual(len(detectors), len(self.data["detectors"]))
        for rows in (units, residents, detectors):
            self.assertEqual({r["verification"] for r in rows}, {"verified"})
        active = sum(1 for r in self.data["residents"] if r.get("status") != "moved_out")
        self.assertEqual(sum(u["residents"] for u in units), active)
        floor3 = self.gw.json("units", "--floor", "3")
        self.assertEqual(len(floor3), 20)
        self.assertTrue(all(u["floor"] == 3 for u in floor3))

    def test_no_listing_prints_a_full_identity_number(self):
        numbers = {r["citizen_id"] for r in self.data["residents"]}
        outputs = [self.gw.firegate(cmd, *fmt, check=0).stdout
                   for cmd in ("residents", "units", "detectors")
                   for fmt in ((), ("--json",))]
        for out in outputs:
            found = set(re.findall(r"\d{12}", out)) & numbers
            self.assertEqual(found, set())
        residents = self.gw.json("residents")
        by_id = {r["resident_id"]: r for r in self.data["residents"]}
        for row in residents:
            last4 = by_id[row["resident_id"]]["citizen_id"][-4:]
            self.assertEqual(row["citizen_id"], "********" + last4)

    def test_resident_found_by_identity_number_through_keyed_hash(self):
        target = self.data["residents"][17]
        rows = self.gw.json("residents", "--citizen-id", target["citizen_id"])
        self.assertEqual([r["resident_id"] for r in rows], [target["resident_id"]])

    def test_same_bundle_again_changes_nothing(self):
        done = self.gw.firegate("import", self.signed, check=0)
        row = re.search(r"^total\s+(\d+)\s+(\d+)\s+(\d+)", done.stdout, re.M)
        self.assertEqual(int(row.group(1)), 0)
        self.assertEqual(int(row.group(2)), 0)
        self.assert_unchanged()

    def test_one_tampered_record_refuses_the_whole_bundle_and_is_named(self):
        data = fgtest.load_json(self.signed)
        victim = data["residents"][123]
        victim["flags"] = [] if victim.get("flags") else ["bedridden"]
        path = self.gw.dir / "tampered.json"
        fgtest.save_json(path, data)
        err = self.refuse(path)
        self.assertIn(f"residents[123] ({victim['resident_id']}): signature does not verify", err)
        self.assertEqual(err.count("signature does not verify"), 1)

    def test_truncated_file_is_refused_with_its_line(self):
        text = Path(self.signed).read_bytes()
        path = self.gw.dir / "truncated.json"
        path.write_bytes(text[: len(text) // 3])
        err = self.refuse(path)
        self.assertRegex(err, r"truncated\.json:\d+: column \d+: not valid JSON")

    def test_corrupt_file_is_refused(self):
        path = self.gw.dir / "corrupt.json"
        path.write_bytes(bytes(range(256)) * 40)
        err = self.refuse(path)
        self.assertIn("corrupt.json:1:", err)
        self.assertIn("not valid JSON", err)

    def test_bundle_signed_by_another_key_is_refused(self):
        other = fgtest.Gateway()
        try:
            path = self.gw.bundle("other.json", key=other.key, floors=2, units_per_floor=2,
                                  building_id=self.data["building"]["location_id"])
            err = self.refuse(path)
            self.assertIn(f"signed by key {other.key_id}", err)
            self.assertIn("building: signature does not verify", err)
        finally:
            other.cleanup()

    def test_unsigned_bundle_is_refused_without_the_flag(self):
        raw = self.gw.bundle("unsigned.json", sign=False, floors=2, units_per_floor=2,
                             building_id=self.data["building"]["location_id"])
        err = self.refuse(raw)
        self.assertIn("not signed", err)
        self.assertIn("--allow-unsigned", err)

    def test_unsigned_records_never_replace_verified_ones(self):
        raw = fgtest.load_json(self.gw.bundle("unsigned2.json", sign=False, floors=20,
                                              units_per_floor=20, revision=2))
        path = self.gw.dir / "unsigned2.json"
        fgtest.save_json(path, raw)
        err = self.refuse(path, "--allow-unsigned")
        self.assertIn("never replaces a verified one", err)


class SmallBuilding(unittest.TestCase):
    def setUp(self):
        self.gw = fgtest.Gateway(demo_key=True)

    def tearDown(self):
        self.gw.cleanup()

    def test_demo_key_is_marked_everywhere(self):
        path = self.gw.bundle(floors=2, units_per_floor=2)
        done = self.gw.firegate("import", path, check=0)
        self.assertIn("DEMO KEY", done.stdout)
        check = self.gw.firegate("check-config", check=0)
        self.assertIn("DEMO KEY", check.stdout)
        self.assertIn("DEMO authority key", check.stderr)
        for cmd in ("building", "units", "residents", "detectors", "zones"):
            rows = self.gw.json(cmd)
            self.assertTrue(rows)
            self.assertEqual({r["verification"] for r in rows}, {"verified (DEMO key)"}, cmd)

    def test_allow_unsigned_keeps_records_marked_unverified(self):
        raw = self.gw.bundle(sign=False, floors=2, units_per_floor=2)
        self.gw.firegate("import", "--allow-unsigned", raw, check=0)
        units = self.gw.json("units")
        self.assertEqual({u["verification"] for u in units}, {"UNVERIFIED"})
        table = self.gw.firegate("units", check=0).stdout
        self.assertIn("UNVERIFIED", table)

    def test_newer_revision_replaces_and_older_is_skipped(self):
        first = self.gw.bundle("r1.json", floors=2, units_per_floor=2)
        self.gw.firegate("import", first, check=0)
        data = fgtest.load_json(self.gw.bundle("r2raw.json", sign=False, floors=2,
                                               units_per_floor=2))
        data["units"][0]["number"] = "1.99"
        data["units"][0]["revision"] = 2
        raw = self.gw.dir / "r2-unsigned.json"
        fgtest.save_json(raw, data)
        signed = self.gw.dir / "r2.json"
        fgtest.run(fgtest.FG_SIGN, "sign", "--key", self.gw.key, raw, signed, check=0)
        done = self.gw.firegate("import", signed, check=0)
        self.assertRegex(done.stdout, r"(?m)^unit\s+0\s+1\s+3\s+0")
        self.assertIn("1.99", self.gw.firegate("units", check=0).stdout)
        done = self.gw.firegate("import", first, check=0)
        self.assertIn("older than the stored revision 2", done.stderr)
        self.assertIn("1.99", self.gw.firegate("units", check=0).stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
