#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What the registry trusts, and what it never prints, through the real binary.

Each class proves one rule a review found broken: a sanitizer's report always fails a test; no
message echoes a citizen identity number, however the bundle or the command line is broken;
records verified by a demo key, or by a key that was since replaced, never pass for verified by
the current key; a verified record outranks an unverified one whatever the revisions; a unit
moved to another floor takes its detectors along, and a building cannot lose a floor a unit is
on; a lost or replaced identity secret is said, never answered with an empty result; the
authority key must be a public key; one GPIO line serves one detector; untrusted names reach
the terminal without escapes or bidirectional overrides; a refused bundle leaves no file behind;
and the import summary says which key verified how many records. The buildings are small (two
floors of two units) so the whole file runs in seconds.
"""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

OK, FAILURE, USAGE, REFUSED = 0, 1, 2, 3
SMALL = {"floors": 2, "units_per_floor": 2}
# What must never reach a terminal from a bundle: ESC, CSI as a C1 control, and the
# bidirectional overrides and isolates.
UNPRINTABLE = ("\x1b", "\x9b", "\u202e", "\u2066")


def signed_copy(gw, data, name, key=None):
    """Writes @data as a bundle and signs it with @key (the gateway's authority key)."""
    raw = gw.dir / f"raw-{name}"
    fgtest.save_json(raw, data)
    out = gw.dir / name
    fgtest.run(fgtest.FG_SIGN, "sign", "--key", key or gw.key, raw, out, check=OK)
    return out


def unsigned_copy(gw, data, name):
    path = gw.dir / name
    fgtest.save_json(path, data)
    return path


def header(data, **sections):
    """A bundle with @data's header and building and only the sections given."""
    out = {k: data[k] for k in ("format", "version", "generated_at", "building")}
    out.update(sections)
    return out


def by_id(rows, key):
    return {r[key]: r for r in rows}


class Fixture(unittest.TestCase):
    """A gateway with a small building imported (signed by its own key) in setUp."""

    demo_key = False
    import_first = True

    def setUp(self):
        self.gw = fgtest.Gateway(demo_key=self.demo_key)
        self.raw = fgtest.load_json(self.gw.bundle("raw.json", sign=False, **SMALL))
        self.signed = signed_copy(self.gw, self.raw, "bundle.json")
        if self.import_first:
            self.gw.firegate("import", self.signed, check=OK)
            self.before = self.gw.dump()

    def tearDown(self):
        self.gw.cleanup()

    def refuse(self, path, *extra):
        """Imports @path expecting a refusal that leaves the store as it was; returns stderr."""
        done = self.gw.firegate("import", *extra, path)
        self.assertEqual(done.returncode, REFUSED, done.stdout + done.stderr)
        self.assertIn("nothing was stored", done.stderr)
        self.assertEqual(self.gw.dump(), self.before, "the store changed after a refusal")
        return done.stderr

    def verification(self, cmd):
        return {r["verification"] for r in self.gw.json(cmd)}


class SanitizerReports(unittest.TestCase):
    """1. A sanitizer's report fails run() even when the expected exit status was met."""

    def test_a_sanitizer_report_fails_a_run_that_expected_exit_1(self):
        for marker in ("==1==ERROR: AddressSanitizer: heap-buffer-overflow",
                       "x.c:3:5: runtime error: signed integer overflow"):
            script = f"import sys; sys.stderr.write({marker!r}); sys.exit(1)"
            with self.assertRaisesRegex(AssertionError, "sanitizer reported"):
                fgtest.run(sys.executable, "-c", script, check=FAILURE)
        with self.assertRaisesRegex(AssertionError, "sanitizer reported"):
            fgtest.run(sys.executable, "-c", f"import sys; sys.exit({fgtest.SANITIZER_EXIT})")
        self.assertEqual(fgtest.run(sys.executable, "-c", "import sys; sys.exit(1)",
                                    check=FAILURE).returncode, FAILURE)

    def test_sanitized_programs_exit_86_and_are_caught(self):
        for var, want in (("ASAN_OPTIONS", ("detect_leaks=1", "exitcode=86")),
                          ("UBSAN_OPTIONS", ("halt_on_error=1", "exitcode=86"))):
            for option in want:
                self.assertIn(option, os.environ[var].split(":"), var)
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            self.skipTest("no C compiler to build a sanitized probe")
        work = Path(tempfile.mkdtemp(prefix="firegate-san-"))
        try:
            src = work / "probe.c"
            src.write_text(
                "#include <limits.h>\n#include <stdlib.h>\n#include <string.h>\n"
                "int main(int argc, char **argv) {\n"
                "  if (strcmp(argv[1], \"heap\") == 0) { char *p = malloc(4); p[argc + 2] = 1;"
                " free(p); }\n"
                "  if (strcmp(argv[1], \"ubsan\") == 0) { int x = INT_MAX - 2; x += argc * 2;"
                " return x == 0; }\n"
                "  if (strcmp(argv[1], \"leak\") == 0) { char *volatile p = malloc(40); p[0] = 1;"
                " p = NULL; }\n"
                "  return 1;\n}\n")
            probe = work / "probe"
            built = subprocess.run([cc, "-g", "-fsanitize=address,undefined",
                                    "-fno-sanitize-recover=all", "-o", str(probe), str(src)],
                                   capture_output=True, text=True)
            if built.returncode != 0:
                self.skipTest(f"cannot build a sanitized probe: {built.stderr}")
            for case in ("heap", "ubsan", "leak"):
                with self.subTest(case=case):
                    with self.assertRaisesRegex(AssertionError, "a sanitizer reported a bug"):
                        fgtest.run(probe, case, check=FAILURE)
                    raw = subprocess.run([probe, case], capture_output=True, text=True)
                    self.assertEqual(raw.returncode, fgtest.SANITIZER_EXIT, raw.stderr)
            fgtest.run(probe, "clean", check=FAILURE)
        finally:
            shutil.rmtree(work, ignore_errors=True)


class IdentityNumbersNeverPrinted(Fixture):
    """2. No output shows a citizen identity number, whatever is broken around it."""

    def setUp(self):
        super().setUp()
        self.target = self.raw["residents"][3]
        self.number = self.target["citizen_id"]
        self.numbers = {r["citizen_id"] for r in self.raw["residents"]}
        self.assertEqual(len(self.number), 12)

    def assert_no_number(self, done, what):
        out = done.stdout + done.stderr
        self.assertNotIn(self.number, out, what)
        self.assertEqual(set(re.findall(r"\d{12}", out)) & self.numbers, set(), what)

    def import_refused(self, data, what):
        path = self.gw.dir / "broken.json"
        path.write_bytes(data)
        done = self.gw.firegate("import", path)
        self.assertEqual(done.returncode, REFUSED, f"{what}\n{done.stdout}{done.stderr}")
        self.assert_no_number(done, what)
        # Nor the part of it a cut left in the file (the last four digits may be shown).
        for run in re.findall(r"\d{5,}", done.stdout + done.stderr):
            self.assertNotIn(run, self.number, f"{what}: part of the number shown")

    def test_bundle_truncated_in_and_around_the_number_never_prints_it(self):
        text = Path(self.signed).read_bytes()
        value = f'"citizen_id": "{self.number}",'.encode()
        start = text.index(value)
        end = start + len(value)
        for cut in range(start - 4, end + 5):
            self.import_refused(text[:cut], f"bundle cut at byte {cut} ({text[start:cut]!r})")
        num = self.number.encode()
        variants = {
            "a raw newline inside the string after the number":
                text.replace(b'"' + num + b'"', b'"' + num + b'\n"', 1),
            "a raw newline instead of the closing quote":
                text.replace(b'"' + num + b'",', b'"' + num + b'\n,', 1),
            "no ':' before the number":
                text.replace(b'"citizen_id": "' + num, b'"citizen_id" "' + num, 1),
            "the number unquoted":
                text.replace(b'"' + num + b'"', num, 1),
        }
        for what, broken in variants.items():
            self.assertNotEqual(broken, text, what)
            self.import_refused(broken, what)
            # Cut at every byte from where the variant departs from the original.
            at = next(i for i in range(len(text)) if text[i] != broken[i])
            for cut in range(at, at + len(value) + 4):
                self.import_refused(broken[:cut], f"{what}, cut at byte {cut}")
        self.assertEqual(self.gw.dump(), self.before)

    def test_stray_number_on_the_command_line_is_not_echoed(self):
        for argv in (("residents", self.number), ("residents", "--json", self.number),
                     ("units", self.number), ("detectors", "--floor", "1", self.number),
                     ("check-config", self.number), ("import", self.signed, self.number)):
            with self.subTest(argv=argv[:-1]):
                done = self.gw.firegate(*argv)
                self.assertEqual(done.returncode, USAGE, done.stderr)
                self.assert_no_number(done, argv)
                self.assertIn("unexpected argument" if argv[0] != "import" else "exactly one",
                              done.stderr)

    def test_citizen_id_read_from_stdin_finds_the_resident(self):
        for fmt in ((), ("--json",)):
            done = self.gw.firegate("residents", "--citizen-id", "-", *fmt,
                                    input=self.number + "\n", check=OK)
            self.assert_no_number(done, fmt)
            self.assertIn(self.target["resident_id"], done.stdout)
            self.assertIn("********" + self.number[-4:], done.stdout)
        rows = json.loads(done.stdout)
        self.assertEqual([r["resident_id"] for r in rows], [self.target["resident_id"]])
        done = self.gw.firegate("residents", "--citizen-id", "-", input="")
        self.assertEqual(done.returncode, USAGE, done.stderr)


class DemoKeyThenProductionKey(Fixture):
    """3. Verification is shown against the key configured now, and follows a key switch."""

    demo_key = True

    def switch_to_production_key(self):
        key, pub = self.gw.dir / "production.pem", self.gw.dir / "production.pub"
        key_id = fgtest.run(fgtest.FG_SIGN, "keygen", key, pub, check=OK).stdout.split()[-1]
        text = self.gw.config.read_text()
        self.assertIn(f"authority_key = {self.gw.pub}\n", text)
        self.gw.config.write_text(text.replace(f"authority_key = {self.gw.pub}\n",
                                               f"authority_key = {pub}\n"))
        return key, key_id

    def test_records_show_another_key_after_a_switch_until_imported_with_the_new_key(self):
        for cmd in ("building", "zones", "units", "residents", "detectors"):
            self.assertEqual(self.verification(cmd), {"verified (DEMO key)"}, cmd)
        key, key_id = self.switch_to_production_key()
        other = f"verified by another key ({self.gw.key_id})"
        for cmd in ("building", "zones", "units", "residents", "detectors"):
            self.assertEqual(self.verification(cmd), {other}, cmd)
        self.assertIn(other, self.gw.firegate("units", check=OK).stdout)

        # The authority re-signs one unit (with its residents and detectors) only.
        unit = self.raw["units"][0]["address_id"]
        part = header(self.raw, zones=self.raw["zones"], units=self.raw["units"][:1],
                      residents=[r for r in self.raw["residents"] if r["unit"] == unit],
                      detectors=[d for d in self.raw["detectors"] if d.get("unit") == unit])
        done = self.gw.firegate("import", signed_copy(self.gw, part, "part.json", key),
                                check=OK)
        self.assertIn(f"verified with authority key {key_id}", done.stdout)
        self.assertNotIn("DEMO", done.stdout)
        units = by_id(self.gw.json("units"), "address_id")
        self.assertEqual(units.pop(unit)["verification"], "verified")
        self.assertEqual({u["verification"] for u in units.values()}, {other})
        for row in self.gw.json("residents") + self.gw.json("detectors"):
            want = "verified" if row["unit"] == unit else other
            self.assertEqual(row["verification"], want, row)
        self.assertEqual(self.verification("building"), {"verified"})

        # Then the whole building, signed with the production key.
        full = signed_copy(self.gw, self.raw, "production.json", key)
        summary = json.loads(self.gw.firegate("import", "--json", full,
                                                     check=OK).stdout)
        self.assertEqual(summary["authority_key"], key_id)
        self.assertFalse(summary["demo_key"])
        self.assertEqual(summary["verified"], summary["records"])
        self.assertGreater(summary["total"]["updated"], 0)
        for cmd in ("building", "zones", "units", "residents", "detectors"):
            self.assertEqual(self.verification(cmd), {"verified"}, cmd)
            self.assertNotIn("DEMO", self.gw.firegate(cmd, check=OK).stdout, cmd)


class VerifiedBeatsUnverified(Fixture):
    """4. A verified record outranks an unverified one, whatever the revisions say."""

    import_first = False

    def unit_row(self, address_id):
        return by_id(self.gw.json("units"), "address_id")[address_id]

    def test_signed_revision_replaces_unsigned_higher_one_and_unsigned_never_replaces_it(self):
        unit = self.raw["units"][0]
        forged = copy.deepcopy(self.raw)
        forged["units"][0].update(number="9.99", revision=1000)
        self.gw.firegate("import", "--allow-unsigned",
                         unsigned_copy(self.gw, forged, "unsigned-1000.json"), check=OK)
        row = self.unit_row(unit["address_id"])
        self.assertEqual((row["number"], row["revision"], row["verification"]),
                         ("9.99", 1000, "UNVERIFIED"))

        authority = copy.deepcopy(self.raw)
        authority["units"][0]["revision"] = 2
        done = self.gw.firegate("import", signed_copy(self.gw, authority, "signed-2.json"),
                                check=OK)
        self.assertIn("a verified record replaces the unverified one", done.stderr)
        row = self.unit_row(unit["address_id"])
        self.assertEqual((row["number"], row["revision"], row["verification"]),
                         (unit["number"], 2, "verified"))
        for cmd in ("building", "zones", "units", "residents", "detectors"):
            self.assertEqual(self.verification(cmd), {"verified"}, cmd)
        self.before = self.gw.dump()

        # An unsigned copy of exactly what is verified: skipped with a note.
        done = self.gw.firegate("import", "--allow-unsigned",
                                unsigned_copy(self.gw, authority, "unsigned-copy.json"),
                                check=OK)
        self.assertIn(f"units[0] ({unit['address_id']}): unsigned copy of a verified record; "
                      "kept the verified one", done.stderr)
        self.assertEqual(self.gw.dump(), self.before)

        # A newer, different unsigned record over a verified one: refused.
        newer = copy.deepcopy(authority)
        newer["units"][0].update(number="1.55", revision=3)
        err = self.refuse(unsigned_copy(self.gw, newer, "unsigned-3.json"), "--allow-unsigned")
        self.assertIn(f"units[0] ({unit['address_id']}): unsigned, and a verified record is "
                      "stored", err)
        self.assertIn("never replaces a verified one", err)
        row = self.unit_row(unit["address_id"])
        self.assertEqual((row["number"], row["revision"], row["verification"]),
                         (unit["number"], 2, "verified"))


class UnitMovesFloor(Fixture):
    """5. A unit's detectors follow it to another floor; a building keeps its units' floors."""

    def test_unit_moved_to_another_floor_takes_its_detectors(self):
        unit = dict(self.raw["units"][0])
        self.assertEqual(unit["floor"], 1)
        own = {d["detector_id"] for d in self.raw["detectors"] if d.get("unit") ==
               unit["address_id"]}
        self.assertTrue(own)
        unit.update(floor=2, revision=2)
        moved = signed_copy(self.gw, header(self.raw, units=[unit]), "moved.json")
        self.gw.firegate("import", moved, check=OK)

        rows = self.gw.json("detectors", "--unit", unit["address_id"])
        self.assertEqual({r["detector_id"] for r in rows}, own)
        self.assertEqual({r["floor"] for r in rows}, {2})
        on_2 = {r["detector_id"] for r in self.gw.json("detectors", "--floor", "2")}
        on_1 = {r["detector_id"] for r in self.gw.json("detectors", "--floor", "1")}
        self.assertLessEqual(own, on_2)
        self.assertEqual(own & on_1, set())
        self.assertEqual(self.gw.json("units", "--unit", unit["address_id"])[0]["floor"], 2)
        self.assertEqual({r["floor"] for r in self.gw.json("residents", "--unit",
                                                             unit["address_id"])}, {2})

    def test_lowering_floors_above_below_a_units_floor_is_refused_naming_the_unit(self):
        building = dict(self.raw["building"], floors_above=1, revision=2)
        bundle = self.raw | {"building": building}
        lower = signed_copy(self.gw, header(bundle), "lower.json")
        err = self.refuse(lower)
        upstairs = [u["address_id"] for u in self.raw["units"] if u["floor"] == 2]
        self.assertTrue(upstairs)
        for address_id in upstairs:
            self.assertIn(f"unit {address_id} is on floor 2", err)


class LostIdentitySecret(Fixture):
    """6. A lost or replaced identity secret is said, never answered with an empty result."""

    def setUp(self):
        super().setUp()
        self.secret = self.gw.state / "identity.secret"
        self.assertTrue(self.secret.exists())
        self.number = self.raw["residents"][0]["citizen_id"]

    def test_import_after_the_identity_secret_was_lost_is_refused_naming_it(self):
        self.secret.unlink()
        err = self.refuse(self.signed)
        self.assertIn("identity secret", err)
        self.assertIn("not the one the stored residents' identity numbers were hashed with",
                      err)
        self.assertFalse(self.secret.exists(), "a new secret was left behind")

    def test_lookup_with_another_secret_says_it_does_not_match(self):
        self.secret.write_bytes(os.urandom(32))
        for fmt in ((), ("--json",)):
            done = self.gw.firegate("residents", "--citizen-id", self.number, *fmt)
            self.assertEqual(done.returncode, FAILURE, done.stdout + done.stderr)
            self.assertEqual(done.stdout, "", "an empty result instead of an error")
            self.assertIn("not the identity secret the stored residents were hashed with",
                          done.stderr)
            self.assertNotIn(self.number, done.stderr)

    def test_lookup_without_the_secret_says_so(self):
        self.secret.unlink()
        done = self.gw.firegate("residents", "--citizen-id", self.number)
        self.assertEqual(done.returncode, FAILURE, done.stdout + done.stderr)
        self.assertEqual(done.stdout, "")
        self.assertIn("cannot read the identity secret", done.stderr)


class PrivateAuthorityKey(unittest.TestCase):
    """7. The gateway holds only the authority's public key."""

    def test_private_key_as_authority_key_is_refused(self):
        for demo in (False, True):
            gw = fgtest.Gateway(demo_key=demo)
            try:
                bundle = gw.bundle(**SMALL)
                text = gw.config.read_text()
                gw.config.write_text(text.replace(f"authority_key = {gw.pub}\n",
                                                  f"authority_key = {gw.key}\n"))
                for argv in (("check-config",), ("import", bundle)):
                    with self.subTest(demo=demo, argv=argv[0]):
                        done = gw.firegate(*argv)
                        self.assertEqual(done.returncode, REFUSED, done.stdout + done.stderr)
                        self.assertIn("a private key", done.stderr)
                        self.assertIn(str(gw.key), done.stderr)
                        self.assertNotIn("PRIVATE KEY", done.stdout + done.stderr)
                with self.subTest(demo=demo, check="no state written"):
                    self.assertFalse(gw.state.exists() and any(gw.state.iterdir()),
                                     "an import with a private key wrote state")
            finally:
                gw.cleanup()


class GpioLines(Fixture):
    """8. One GPIO line (alarm or end-of-line fault line) serves one detector."""

    def setUp(self):
        super().setUp()
        self.call = {d["detector_id"]: i for i, d in enumerate(self.raw["detectors"])
                     if d["source"]["type"] == "gpio"}
        self.assertEqual(set(self.call), {"f1-callpoint", "f2-callpoint", "b1-callpoint"})

    def detector(self, name):
        return self.raw["detectors"][self.call[name]]

    def addresses(self):
        return {d["detector_id"]: d["address"] for d in self.gw.json("detectors")
                if d["source"] == "gpio"}

    def test_two_detectors_swapping_lines_in_one_bundle_import(self):
        a, b = (copy.deepcopy(self.detector(n)) for n in ("f1-callpoint", "f2-callpoint"))
        a["source"], b["source"] = b["source"], a["source"]
        a["revision"] = b["revision"] = 2
        done = self.gw.firegate("import", signed_copy(self.gw, header(self.raw, detectors=[a, b]),
                                                      "swap.json"), check=OK)
        self.assertRegex(done.stdout, r"(?m)^detector\s+0\s+2\s+0\s+0\s+0$")
        addresses = self.addresses()
        self.assertEqual(addresses["f1-callpoint"], f"{b['source']['chip']}:2 (active low)")
        self.assertEqual(addresses["f2-callpoint"], f"{a['source']['chip']}:0 (active low)")

    def test_two_detectors_on_one_line_in_one_bundle_are_refused_naming_both(self):
        data = copy.deepcopy(self.raw)
        i, j = self.call["f1-callpoint"], self.call["f2-callpoint"]
        data["detectors"][j]["source"]["line"] = data["detectors"][i]["source"]["line"]
        data["detectors"][j]["revision"] = 2
        err = self.refuse(signed_copy(self.gw, data, "shared.json"))
        line = re.search(r"(?m)^.*GPIO line.*$", err)
        self.assertIsNotNone(line, err)
        self.assertIn(f"detectors[{j}] (f2-callpoint)", line.group(0))
        self.assertIn(f"detectors[{i}] (f1-callpoint)", line.group(0))

    def test_new_detector_on_a_stored_detectors_line_is_refused(self):
        stored = self.detector("b1-callpoint")["source"]
        for field in ("line", "fault_line"):
            with self.subTest(stored_field=field):
                new = copy.deepcopy(self.detector("f1-callpoint"))
                new["detector_id"] = "f1-callpoint-2"
                new["source"].update(line=stored[field], fault_line=40)
                new["location"] = "call point, second exit, floor 1"
                err = self.refuse(signed_copy(self.gw, header(self.raw, detectors=[new]),
                                              f"new-on-{field}.json"))
                self.assertRegex(err, r"b1-callpoint and f1-callpoint-2 share GPIO line "
                                 rf"{stored['chip']}:{stored[field]}\b")


class UntrustedText(Fixture):
    """9. Names from a bundle reach messages and listings without controls or overrides."""

    EVIL = "x\u001b[31mred\u202eevil\u009bq"

    def assert_printable(self, text):
        for ch in UNPRINTABLE:
            self.assertNotIn(ch, text, f"U+{ord(ch):04X} reached the output")

    def test_unknown_field_with_escape_and_bidi_override_is_refused_printably(self):
        places = {
            "top level": lambda data: data,
            "a unit": lambda data: data["units"][0],
            "a GPIO source": lambda data: next(d["source"] for d in data["detectors"]
                                               if d["source"]["type"] == "gpio"),
        }
        for place, where in places.items():
            with self.subTest(place=place):
                data = fgtest.load_json(self.signed)
                where(data)[self.EVIL] = 1
                path = unsigned_copy(self.gw, data, "evil-field.json")
                self.assertIn("\u202e".encode(), path.read_bytes())
                done = self.gw.firegate("import", path)
                self.assertEqual(done.returncode, REFUSED, done.stderr)
                self.assert_printable(done.stdout + done.stderr)
                # Named recognisably, with the dangerous characters replaced.
                self.assertRegex(done.stderr, r"unknown field 'x.\[31mred.evil.q'")
                self.assertEqual(self.gw.dump(), self.before)

    def test_resident_name_with_bidi_override_or_c1_control_is_refused(self):
        for ch in ("\u202e", "\u009b", "\u2066"):
            with self.subTest(char=f"U+{ord(ch):04X}"):
                data = copy.deepcopy(self.raw)
                data["residents"][0]["name"] = f"Nguyễn{ch}Văn An"
                data["residents"][0]["revision"] = 2
                err = self.refuse(signed_copy(self.gw, data, "evil-name.json"))
                rid = data["residents"][0]["resident_id"]
                self.assertIn(f"residents[0] ({rid}): 'name' contains control characters", err)
                self.assertEqual(err.count("residents["), 1, err)
                self.assert_printable(err)


class RefusedBundleLeavesNoTrace(Fixture):
    """10. A refused bundle creates neither the database nor the identity secret."""

    import_first = False

    def assert_no_trace(self):
        self.assertFalse((self.gw.state / "firegate.db").exists(), "a database was created")
        self.assertFalse((self.gw.state / "identity.secret").exists(), "a secret was created")
        leftovers = list(self.gw.state.iterdir()) if self.gw.state.exists() else []
        self.assertEqual(leftovers, [])

    def test_tampered_bundle_into_a_fresh_state_dir_leaves_nothing(self):
        self.assertFalse(self.gw.state.exists())
        data = fgtest.load_json(self.signed)
        data["residents"][0]["flags"] = ["bedridden", "needs_oxygen"]
        done = self.gw.firegate("import", unsigned_copy(self.gw, data, "tampered.json"))
        self.assertEqual(done.returncode, REFUSED, done.stderr)
        self.assertIn("signature does not verify", done.stderr)
        self.assert_no_trace()
        # A listing afterwards still says there is no store, not an empty one.
        self.assertIn("no store yet", self.gw.firegate("units", check=FAILURE).stderr)

    def test_bundle_refused_by_the_stores_checks_leaves_no_identity_secret(self):
        # Signed and well-formed, so it passes the bundle's checks and reaches the store, which
        # refuses a detector whose unit is neither in the bundle nor stored.
        data = copy.deepcopy(self.raw)
        detector = next(d for d in data["detectors"] if d.get("unit"))
        detector["unit"] = next(u for u in (f"{n:012d}" for n in range(1, 10**6))
                                if u not in {x["address_id"] for x in data["units"]})
        detector.pop("floor", None)
        done = self.gw.firegate("import", signed_copy(self.gw, data, "dangling.json"))
        self.assertEqual(done.returncode, REFUSED, done.stderr)
        self.assertIn(f"unit {detector['unit']} is neither in this bundle nor stored",
                      done.stderr)
        self.assertFalse((self.gw.state / "identity.secret").exists(), "a secret was left")


class ImportSummary(Fixture):
    """11. The summary says which key verified how many records, and what stayed unverified."""

    import_first = False
    demo_key = True

    def records(self):
        return 1 + sum(len(self.raw[k]) for k in ("zones", "units", "residents", "detectors"))

    def test_json_summary_names_the_demo_key_and_counts_verified(self):
        summary = json.loads(self.gw.firegate("import", "--json", self.signed,
                                                     check=OK).stdout)
        self.assertEqual(summary["authority_key"], self.gw.key_id)
        self.assertIs(summary["demo_key"], True)
        self.assertEqual(summary["records"], self.records())
        self.assertEqual(summary["verified"], self.records())
        self.assertEqual(summary["total"]["inserted"], self.records())
        self.assertEqual(summary["total"]["unverified"], 0)

    def test_text_summary_counts_unverified_and_names_no_key_when_none_verified(self):
        raw = unsigned_copy(self.gw, self.raw, "unsigned.json")
        done = self.gw.firegate("import", "--allow-unsigned", raw, check=OK)
        self.assertIn(f"{self.records()} UNVERIFIED", done.stdout)
        self.assertNotIn("verified with", done.stdout)
        self.assertNotIn(self.gw.key_id, done.stdout)
        summary = json.loads(self.gw.firegate("import", "--json", "--allow-unsigned",
                                                     raw, check=OK).stdout)
        self.assertEqual(summary["verified"], 0)

    def test_text_summary_of_a_mixed_bundle_says_both(self):
        data = fgtest.load_json(self.signed)
        del data["residents"][0]["signature"]
        done = self.gw.firegate("import", "--allow-unsigned",
                                unsigned_copy(self.gw, data, "mixed.json"), check=OK)
        self.assertIn(f"{self.records() - 1} verified with authority key {self.gw.key_id} "
                      "(DEMO KEY, NOT FOR PRODUCTION)", done.stdout)
        self.assertIn("1 UNVERIFIED", done.stdout)
        self.assertRegex(done.stdout, r"(?m)^resident\s+\d+\s+0\s+0\s+0\s+1$")


if __name__ == "__main__":
    unittest.main(verbosity=2)
