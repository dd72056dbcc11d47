#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`firegate replay` through the real binary: every story under tests/replay/ against its
expected decisions, the stored registry against the bundle, malformed input, standard input,
and proof that a replay writes nothing.

Each story NAME.jsonl runs against tests/replay/building.json, signed here with a fresh key,
and the rules in tests/replay/rules-NAME/ when that exists, else the shipped rules/. Its
decisions must equal NAME.expected line by line, as JSON objects with their keys in order.
NAME.expected says what the standards and docs/rules.md require; where the engine is known to
differ, NAME.known-bug holds what it prints today (the story's header says why), the story
passes while the engine prints exactly that, and fails once the engine is fixed, so that the
known-bug file is removed.
"""

import json
import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
from jsonschema import Draft202012Validator, FormatChecker  # noqa: E402

OK, FAILURE, USAGE, REFUSED = 0, 1, 2, 3
STORIES = fgtest.ROOT / "tests" / "replay"
BUILDING = STORIES / "building.json"
SHIPPED_RULES = fgtest.ROOT / "rules"


def story_names():
    return sorted(p.stem for p in STORIES.glob("*.jsonl"))


def rules_for(name):
    own = STORIES / f"rules-{name}"
    return own if own.is_dir() else SHIPPED_RULES


def json_lines(text):
    """Each non-blank line as a list of (key, value) pairs, so that key order counts too."""
    return [list(json.loads(line).items()) for line in text.splitlines() if line.strip()]


def sign_building(gw):
    signed = gw.dir / "building.signed.json"
    fgtest.run(fgtest.FG_SIGN, "sign", "--key", gw.key, BUILDING, signed, check=OK)
    return signed


def snapshot(directory):
    """Every file under @directory with its bytes (an absent directory is an empty snapshot)."""
    root = Path(directory)
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


class Stories(unittest.TestCase):
    """One test per story, generated below."""

    @classmethod
    def setUpClass(cls):
        cls.gw = fgtest.Gateway()
        cls.signed = sign_building(cls.gw)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()

    def check_story(self, name):
        story = STORIES / f"{name}.jsonl"
        done = self.gw.firegate("replay", "--bundle", self.signed, "--rules", rules_for(name),
                                story, check=OK)
        self.assertNotIn("line skipped", done.stderr, f"{name}: a line of the story was refused")
        got = json_lines(done.stdout)
        expected = json_lines((STORIES / f"{name}.expected").read_text(encoding="utf-8"))
        known_bug = STORIES / f"{name}.known-bug"
        if not known_bug.exists():
            self.assertEqual(got, expected, f"{name}: decisions differ from {name}.expected")
            return
        if got == expected:
            self.fail(f"{name}: the engine now gives the expected decisions; delete "
                      f"{known_bug.name} and the KNOWN ENGINE BUG note in {story.name}")
        known = json_lines(known_bug.read_text(encoding="utf-8"))
        self.assertEqual(got, known, f"{name}: decisions differ from {name}.expected and from "
                                     f"the known engine bug in {known_bug.name}")
        print(f"\n  {name}: KNOWN ENGINE BUG, see {story.name}", file=sys.stderr)


for _name in story_names():
    setattr(Stories, f"test_story_{_name.replace('-', '_')}",
            lambda self, name=_name: self.check_story(name))


class StoryFiles(unittest.TestCase):
    def test_building_is_an_unsigned_bundle_that_matches_the_schema(self):
        data = fgtest.load_json(BUILDING)
        schema = fgtest.load_json(fgtest.SCHEMA)
        errors = list(Draft202012Validator(schema, format_checker=FormatChecker())
                      .iter_errors(data))
        self.assertEqual(errors, [])
        self.assertNotIn("signature", BUILDING.read_text(encoding="utf-8"))
        self.assertNotIn("authority", data)

    def test_every_story_has_its_expected_decisions_and_says_what_it_shows(self):
        names = story_names()
        self.assertGreaterEqual(len(names), 20)
        for name in names:
            with self.subTest(story=name):
                self.assertTrue((STORIES / f"{name}.expected").is_file())
                first = (STORIES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[0]
                self.assertTrue(first.startswith(f"# {name}: "), first)
        for rules in STORIES.glob("rules-*"):
            self.assertIn(rules.name[len("rules-"):], names, f"{rules.name} serves no story")


class StoreAndSafety(unittest.TestCase):
    def setUp(self):
        self.gw = fgtest.Gateway()
        self.signed = sign_building(self.gw)

    def tearDown(self):
        self.gw.cleanup()

    def replay(self, name, *extra, check=OK):
        return self.gw.firegate("replay", *extra, "--rules", rules_for(name),
                                STORIES / f"{name}.jsonl", check=check)

    def test_store_backed_replay_after_import_gives_the_same_decisions(self):
        self.gw.firegate("import", self.signed, check=OK)
        for name in ("kitchen-fire", "night", "pas"):
            with self.subTest(story=name):
                from_store = self.replay(name).stdout
                from_bundle = self.replay(name, "--bundle", self.signed).stdout
                self.assertGreater(len(from_store.splitlines()), 2)
                self.assertEqual(from_store, from_bundle)

    def test_order_of_records_in_a_bundle_does_not_change_the_replay(self):
        # dying-battery has eight silent faults due at one moment: they come in id order.
        data = fgtest.load_json(BUILDING)
        data["detectors"].reverse()
        data["zones"].reverse()
        raw = self.gw.dir / "reversed.json"
        fgtest.save_json(raw, data)
        reversed_signed = self.gw.dir / "reversed.signed.json"
        fgtest.run(fgtest.FG_SIGN, "sign", "--key", self.gw.key, raw, reversed_signed, check=OK)
        self.assertEqual(self.replay("dying-battery", "--bundle", reversed_signed).stdout,
                         self.replay("dying-battery", "--bundle", self.signed).stdout)

    def test_replay_writes_nothing_to_the_state_directory(self):
        self.gw.firegate("import", self.signed, check=OK)
        # As beside a running daemon, SQLite's shared-memory index and WAL exist (any reader,
        # a listing here, makes them when they do not).
        self.gw.firegate("units", check=OK)
        before = snapshot(self.gw.state)
        self.assertIn("firegate.db-shm", before)
        self.replay("night")
        self.replay("kitchen-fire", "--bundle", self.signed)
        self.assertEqual(snapshot(self.gw.state), before)

    def test_replay_of_a_closed_store_changes_no_byte_of_it(self):
        self.gw.firegate("import", self.signed, check=OK)
        before = snapshot(self.gw.state)
        self.replay("night")
        after = snapshot(self.gw.state)
        for name, data in before.items():
            self.assertEqual(after.get(name), data, name)
        # The most a reader may leave: SQLite's shared-memory index and an empty WAL, which
        # store_open() in read-only mode lets SQLite create as `firegate units` does.
        new = {name: data for name, data in after.items() if name not in before}
        self.assertLessEqual(set(new), {"firegate.db-shm", "firegate.db-wal"})
        self.assertEqual(new.get("firegate.db-wal", b""), b"")

    def test_bundle_replay_on_a_fresh_gateway_creates_no_file(self):
        before = snapshot(self.gw.dir)
        self.replay("priority-rescue", "--bundle", self.signed)
        self.assertFalse(self.gw.state.exists())
        self.assertEqual(snapshot(self.gw.dir), before)

    def test_store_replay_without_a_store_says_to_import_first(self):
        done = self.replay("priority-rescue", check=FAILURE)
        self.assertIn("firegate import", done.stderr)
        self.assertFalse(self.gw.state.exists())


class Input(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = fgtest.Gateway()
        cls.signed = sign_building(cls.gw)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()

    def replay(self, *args, check=OK, input=None, rules=SHIPPED_RULES):
        return self.gw.firegate("replay", "--bundle", self.signed, "--rules", rules, *args,
                                check=check, input=input)

    def write(self, name, lines):
        path = self.gw.dir / name
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    def decisions(self, done):
        return [json.loads(line) for line in done.stdout.splitlines() if '"decision"' in line]

    def test_malformed_lines_are_reported_with_their_line_number_and_skipped(self):
        path = self.write("broken.jsonl", [
            "# a log with damage in it",
            '{"t": 1000, "detector": "smoke-stair-1", "reading": "smoke", "value": true}',
            '{"t": 1500, "detector": "smoke-stair-1", "reading": "smok", "value": true}',
            'not json at all',
            '{"t": 500}',
            '{"t": 2000, "command": "silence", "target": "unit:000000000000"}',
            '{"t": 3000, "command": "acknowledge", "who": "desk"}',
            '{"t": 4000, "command": "acknowledge", "who": "desk"}',
            '{"t": 5000, "command": "silence", "who": "desk"}',
        ])
        done = self.replay(path)
        err = done.stderr
        self.assertIn(f"{path}:3: unknown reading 'smok': expected smoke, heat_alarm", err)
        self.assertIn(f"{path}:4: invalid JSON at column", err)
        self.assertIn(f"{path}:5: t 500 goes back before the previous line's t 1000; line "
                      "skipped", err)
        self.assertIn(f"{path}:6: unknown target 'unit:000000000000'", err)
        self.assertEqual(err.count("; line skipped"), 4)
        self.assertIn(f"{path}:8: nothing to acknowledge in building", err)
        self.assertIn("9 lines, 1 readings, 3 commands, 4 skipped, 5 decisions", err)
        kinds = [(d["t"], d["decision"]) for d in self.decisions(done)]
        self.assertEqual(kinds, [(1000, "alarm"), (1000, "output-on"), (3000, "acknowledged"),
                                 (5000, "silenced"), (5000, "output-off")])

    def test_an_unknown_target_does_not_move_the_clock(self):
        # Skipped means skipped: the deadline at 25 s must not fire because of a line at 60 s
        # that was refused, and the next line (at 10 s) is still in order.
        path = self.write("target.jsonl", [
            '{"t": 0, "detector": "smoke-101-hall", "reading": "smoke", "value": true}',
            '{"t": 60000, "command": "reset", "target": "zone:nowhere"}',
            '{"t": 10000, "detector": "smoke-101-hall", "reading": "smoke", "value": false}',
            '{"t": 20000}',
        ])
        done = self.replay(path)
        self.assertIn(f"{path}:2: unknown target 'zone:nowhere'", done.stderr)
        self.assertEqual([d["decision"] for d in self.decisions(done)], ["pre-alarm"])

    def test_replay_from_standard_input(self):
        story = STORIES / "priority-rescue.jsonl"
        from_file = self.replay(story).stdout
        text = story.read_text(encoding="utf-8")
        from_stdin = self.replay("-", input=text)
        self.assertEqual(from_stdin.stdout, from_file)
        bad = self.replay("-", input=text + '{"t": 1, "reading": "smoke"}\n')
        lines = len(text.splitlines()) + 1
        self.assertIn(f"<stdin>:{lines}: t 1 goes back", bad.stderr)

    def test_until_runs_the_clock_on_after_the_last_line(self):
        path = self.write("until.jsonl", [
            '{"t": 0, "detector": "smoke-101-hall", "reading": "smoke", "value": true}'])
        self.assertEqual([d["decision"] for d in self.decisions(self.replay(path))],
                         ["pre-alarm"])
        done = self.replay("--until", "25000", path)
        self.assertEqual([(d["t"], d["decision"]) for d in self.decisions(done)],
                         [(0, "pre-alarm"), (25000, "alarm"), (25000, "output-on")])

    def test_notices_none_leaves_out_the_en54_25_notice(self):
        story = STORIES / "burnt-toast.jsonl"
        with_notices = self.replay(story).stdout.splitlines()
        self.assertIn('"notice":"en54-25","detector":"smoke-301-hall"', with_notices[0])
        without = self.replay("--notices", "none", story).stdout.splitlines()
        self.assertEqual(without, with_notices[1:])

    def test_unsigned_bundle_needs_allow_unsigned_and_then_gives_no_priority(self):
        story = STORIES / "priority-rescue.jsonl"
        done = self.gw.firegate("replay", "--bundle", BUILDING, "--rules", SHIPPED_RULES, story,
                                check=REFUSED)
        self.assertIn("refused", done.stderr)
        self.assertEqual(done.stdout, "")
        done = self.gw.firegate("replay", "--bundle", BUILDING, "--allow-unsigned", "--rules",
                                SHIPPED_RULES, story, check=OK)
        first = self.decisions(done)[0]
        # The bedridden resident's record is not signed: no priority may rest on it.
        self.assertEqual((first["detector"], first["decision"], first["flags"]),
                         ("smoke-102-hall", "pre-alarm", ["unverified"]))

    def test_tampered_bundle_is_refused(self):
        data = fgtest.load_json(self.signed)
        data["detectors"][0]["report_period_s"] = 60
        tampered = self.gw.dir / "tampered.json"
        fgtest.save_json(tampered, data)
        done = self.gw.firegate("replay", "--bundle", tampered, "--rules", SHIPPED_RULES,
                                STORIES / "call-point.jsonl", check=REFUSED)
        self.assertIn("refused", done.stderr)
        self.assertEqual(done.stdout, "")

    def test_rules_with_errors_are_refused_with_file_and_line(self):
        rules = self.gw.dir / "bad-rules"
        rules.mkdir()
        (rules / "10-smoke.rules").write_text("[smoke units]\ndependency = verification\n"
                                              "retard_s = 61\n")
        done = self.replay(STORIES / "call-point.jsonl", rules=rules, check=REFUSED)
        self.assertIn(f"{rules / '10-smoke.rules'}:3:", done.stderr)
        self.assertEqual(done.stdout, "")

    def test_rules_that_do_not_fit_the_building_are_refused(self):
        rules = self.gw.dir / "misfit-rules"
        rules.mkdir()
        (rules / "40-outputs.rules").write_text("[output bell]\nfollows = zone:attic\n")
        done = self.replay(STORIES / "call-point.jsonl", rules=rules, check=REFUSED)
        self.assertIn("zone:attic", done.stderr)
        self.assertEqual(done.stdout, "")

    def test_rules_dir_comes_from_the_config(self):
        gw = fgtest.Gateway(extra_config=f"[rules]\ndir = {SHIPPED_RULES}\n")
        try:
            signed = sign_building(gw)
            story = STORIES / "verification-persists.jsonl"
            done = gw.firegate("replay", "--bundle", signed, story, check=OK)
            self.assertEqual(json_lines(done.stdout), json_lines(
                (STORIES / "verification-persists.expected").read_text(encoding="utf-8")))
        finally:
            gw.cleanup()

    def test_usage_errors_and_help(self):
        story = STORIES / "call-point.jsonl"
        self.assertIn("expected exactly one FILE",
                      self.gw.firegate("replay", check=USAGE).stderr)
        self.gw.firegate("replay", story, story, check=USAGE)
        self.assertIn("--allow-unsigned needs --bundle",
                      self.gw.firegate("replay", "--allow-unsigned", story, check=USAGE).stderr)
        self.assertIn("--until expects",
                      self.gw.firegate("replay", "--until", "soon", story, check=USAGE).stderr)
        self.gw.firegate("replay", "--until", "-5", story, check=USAGE)
        self.gw.firegate("replay", "--notices", "xml", story, check=USAGE)
        self.assertIn("unknown option", self.gw.firegate("replay", "--bogus", story,
                                                         check=USAGE).stderr)
        out = self.gw.firegate("replay", "--help", check=OK).stdout
        self.assertIn("Usage: firegate [--config PATH] replay", out)
        self.assertRegex(fgtest.run(fgtest.BIN, "--help", check=OK).stdout, r"(?m)^  replay\s+\S")

    def test_missing_input_file_is_a_runtime_failure(self):
        done = self.replay(self.gw.dir / "no-such.jsonl", check=FAILURE)
        self.assertIn("no-such.jsonl: cannot open", done.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
