#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The incident log as evidence: the daemon writes a record (the synthetic building's wired
call points are in fault on this machine, which has no GPIO chip; a reset and an
acknowledgement through the control socket), then the record is attacked the way someone with
the file would, with Debian's sqlite3 shell: a row changed, deleted, inserted, a chain entry
removed, the whole chain rebuilt. `firegate verify-log` names each; a head taken before the
rebuild is no longer in the chain. Rows declared lost (declare-loss): a declaration made after
a head is named against it, a changed declaration fails and cannot be declared lost, a refusal
names what no declaration can cover, a reason cannot carry terminal escapes."""

import hashlib
import json
import shutil
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402


def sqlite(db, sql):
    """The sqlite3 shell on @db: what an attacker with the file has."""
    done = subprocess.run(["sqlite3", str(db)], input=sql, text=True, capture_output=True,
                          timeout=30)
    if done.returncode != 0:
        raise AssertionError(f"sqlite3: {done.stderr}")
    return done.stdout


class Evidence(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = fgtest.Gateway()
        cls.gw.firegate("import", cls.gw.bundle(floors=2, units_per_floor=2), check=0)
        daemon = fgtest.Daemon(cls.gw)
        try:
            daemon.wait_for("ready")
            daemon.wait_for("fault f2-callpoint device")
            cls.gw.firegate("reset", "floor:1", check=None)
            cls.gw.firegate("ack", "building", check=None)
            time.sleep(0.5)
        finally:
            assert daemon.stop() == 0, daemon.drain()
        cls.db = cls.gw.state / "firegate.db"
        cls.pristine = cls.gw.dir / "pristine.db"
        shutil.copy(cls.db, cls.pristine)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()

    def setUp(self):
        shutil.copy(self.pristine, self.db)
        for extra in ("-wal", "-shm"):
            Path(f"{self.db}{extra}").unlink(missing_ok=True)

    def verify(self, *args, expect):
        done = self.gw.firegate("verify-log", "--json", *args, check=None)
        self.assertEqual(done.returncode, expect, done.stdout + done.stderr)
        return json.loads(done.stdout)

    def test_the_log_as_written_verifies(self):
        out = self.verify(expect=0)
        self.assertTrue(out["ok"])
        events = int(sqlite(self.db, "SELECT count(*) FROM incident_event;"))
        engine = int(sqlite(self.db, "SELECT count(*) FROM engine_event;"))
        audit = sqlite(self.db, "SELECT who, origin, action FROM audit;").splitlines()
        self.assertGreaterEqual(events, 3)
        self.assertEqual(out["entries"], out["rows"])
        self.assertEqual(out["rows"], events + engine + len(audit))
        # The look itself is in the audit log, chained like the rest.
        self.assertEqual(len(audit), 1)
        self.assertRegex(audit[0], r"^uid \d+ \(\w+\)\|local\|verify-log$")
        self.assertRegex(out["head"], "^[0-9a-f]{64}$")
        # Asking again is a new look, recorded: the chain grows, and still holds the old head.
        again = self.verify("--head", out["head"], expect=0)
        self.assertNotEqual(again["head"], out["head"])
        self.assertTrue(again["head_found"])

    def test_a_changed_row_is_named(self):
        sqlite(self.db, "DROP TRIGGER incident_event_append_only_update;"
                        "UPDATE incident_event SET cause = 'nothing happened' WHERE id = 2;")
        out = self.verify(expect=3)
        self.assertIn("incident_event #2 was changed", out["problem"])

    def test_a_deleted_row_is_named(self):
        sqlite(self.db, "DROP TRIGGER incident_event_append_only_delete;"
                        "DELETE FROM incident_event WHERE id = 3;")
        self.assertIn("incident_event #3 was deleted", self.verify(expect=3)["problem"])

    def test_an_inserted_row_is_named(self):
        row = int(sqlite(self.db, "INSERT INTO engine_event (at, decision, cause) VALUES "
                                  "(1795446000000, 'reset', 'staged'); "
                                  "SELECT last_insert_rowid();"))
        out = self.verify(expect=3)
        self.assertIn(f"engine_event #{row} was inserted outside the gateway", out["problem"])

    def test_a_removed_chain_entry_is_named(self):
        sqlite(self.db, "DROP TRIGGER chain_append_only_delete; DELETE FROM chain WHERE seq = 2;")
        out = self.verify(expect=3)
        self.assertIn("chain entry 3", out["problem"])
        self.assertIn("does not follow", out["problem"])

    def test_a_rebuilt_chain_misses_the_head_taken_before(self):
        head = self.verify(expect=0)["head"]
        (self.gw.dir / "head.txt").write_text(head + "\n")
        # The attacker changes a row and has the gateway chain everything anew.
        sqlite(self.db, "DROP TRIGGER incident_event_append_only_update;"
                        "UPDATE incident_event SET who = 'nobody' WHERE id = 1;"
                        "DROP TRIGGER chain_append_only_delete; DELETE FROM chain;"
                        "DELETE FROM meta WHERE key = 'chain_started';")
        self.gw.firegate("import", self.gw.bundle(floors=2, units_per_floor=2), check=0)
        # Locally consistent again ...
        self.assertTrue(self.verify(expect=0)["ok"])
        # ... but not with the head the platform was sent.
        out = self.verify("--head-file", str(self.gw.dir / "head.txt"), expect=3)
        self.assertFalse(out["head_found"])
        self.assertIn("not in the chain", out["problem"])

    def test_an_earlier_head_is_found_in_a_grown_log(self):
        head = self.verify(expect=0)["head"]
        daemon = fgtest.Daemon(self.gw)
        try:
            daemon.wait_for("ready")
            self.gw.firegate("reset", "floor:2", check=None)
            time.sleep(0.5)
        finally:
            self.assertEqual(daemon.stop(), 0)
        out = self.verify("--head", head, expect=0)
        self.assertTrue(out["head_found"])
        self.assertNotEqual(out["head"], head)

    def export(self, name="case.json"):
        out = self.gw.dir / name
        done = self.gw.firegate("export", "--from", "2020-01-01", "--to", "2099-12-31",
                                "--tz", "Asia/Ho_Chi_Minh", str(out), check=None)
        return done, out

    def public_key(self, gw=None):
        gw = gw or self.gw
        printed = gw.firegate("gateway-key", check=0).stdout
        self.assertIn("BEGIN PUBLIC KEY", printed)
        pub = gw.dir / "gateway.pub"
        pub.write_text(printed[printed.index("-----BEGIN"):])
        return pub

    def verify_export(self, path, pub, expect):
        done = self.gw.firegate("verify-export", str(path), "--key", str(pub), check=None)
        self.assertEqual(done.returncode, expect, done.stdout + done.stderr)
        return done.stdout

    def test_an_export_verifies_offline_with_the_gateways_key(self):
        pub = self.public_key()
        done, path = self.export()
        self.assertEqual(done.returncode, 0, done.stderr)
        doc = json.loads(path.read_text())
        events = sum(len(i["events"]) for i in doc["incidents"])
        self.assertGreaterEqual(events, 3)
        said = self.verify_export(path, pub, 0)
        self.assertIn("verifies", said)
        rows = events + len(doc["engine_events"]) + len(doc["audit"])
        self.assertIn(f"{rows} chained rows", said)
        self.assertEqual([a["action"] for a in doc["audit"]], ["export"])
        # The key is made once: asked again, the same key.
        self.assertEqual(self.public_key().read_text(), pub.read_text())

    def test_an_export_altered_by_one_byte_fails(self):
        pub = self.public_key()
        _, path = self.export()
        raw = bytearray(path.read_bytes())
        at = raw.index(b'"cause": "') + len(b'"cause": "')
        raw[at] = ord("X") if raw[at] != ord("X") else ord("Y")
        path.write_bytes(bytes(raw))
        said = self.verify_export(path, pub, 3)
        self.assertIn("signature does not verify", said)

    def test_an_export_checked_with_another_gateways_key_fails(self):
        other = fgtest.Gateway()
        self.addCleanup(other.cleanup)
        _, path = self.export()
        said = self.verify_export(path, self.public_key(other), 3)
        self.assertIn("another gateway's key", said)

    def test_a_log_that_does_not_verify_is_not_exported(self):
        self.public_key()
        sqlite(self.db, "DROP TRIGGER incident_event_append_only_update;"
                        "UPDATE incident_event SET cause = 'nothing happened' WHERE id = 2;")
        done, path = self.export()
        self.assertEqual(done.returncode, 3)
        self.assertIn("does not verify", done.stderr)
        self.assertFalse(path.exists())

    def test_the_store_is_closed_to_other_users(self):
        # Readable by the service user and its group (the administrators), by no one else.
        for path in (self.gw.state, self.gw.state / "firegate.db", self.gw.state / "gateway.key"):
            if path.exists():
                self.assertEqual(path.stat().st_mode & 0o007, 0, path)
        self.public_key()
        self.assertEqual((self.gw.state / "gateway.key").stat().st_mode & 0o077, 0)

    # Rows declared lost (declare-loss): what the command line says and refuses.

    def declare(self, *args, check=0):
        return self.gw.firegate("declare-loss", "--reason", "damaged page; copy kept", *args,
                                check=check)

    def test_a_declaration_is_named_against_a_head_taken_before_it(self):
        head = self.verify(expect=0)["head"]
        sqlite(self.db, "DROP TRIGGER incident_event_append_only_delete;"
                        "DELETE FROM incident_event WHERE id = 3;")
        said = self.declare("--damaged-copy", str(self.pristine)).stdout
        digest = hashlib.sha256(self.pristine.read_bytes()).hexdigest()
        self.assertRegex(said, r"^declared 1 row lost \(1 missing, 0 damaged\) in audit #\d+: "
                               r"chain entry \d+: incident_event #3; damaged copy SHA-256 "
                               + digest)
        out = self.verify("--head", head, expect=4)
        self.assertEqual(out["lost"], 1)
        self.assertEqual(len(out["warnings"]), 1, out)
        self.assertIn("declared after the head the platform holds", out["warnings"][0])
        self.assertIn(digest, out["warnings"][0])
        text = self.gw.firegate("verify-log", "--head", head, check=4).stdout
        self.assertRegex(text, r"(?m)^warning: audit #\d+ \(chain entry \d+\), declared after "
                               r"the head the platform holds, declares 1 entry at or before")
        # A head taken after the declaration has nothing to warn of.
        self.assertEqual(self.verify("--head", out["head"], expect=4)["warnings"], [])
        # Nor is the gap exported unless asked for, and then it is stated.
        self.public_key()
        done, path = self.export()
        self.assertEqual(done.returncode, 3, done.stderr)
        self.assertIn("--with-losses", done.stderr)
        self.assertFalse(path.exists())

    def test_a_changed_declaration_is_named_and_cannot_be_declared_lost(self):
        sqlite(self.db, "DROP TRIGGER incident_event_append_only_delete;"
                        "DELETE FROM incident_event WHERE id = 3;")
        self.declare()
        decl = int(sqlite(self.db, "SELECT id FROM audit WHERE action = 'declare-loss';"))
        sqlite(self.db, "DROP TRIGGER audit_append_only_update;"
                        "UPDATE audit SET params = json_set(params, '$.lost', json('[[1,30]]')) "
                        f"WHERE id = {decl};"
                        "DELETE FROM incident_event WHERE id = 1;")
        out = self.verify(expect=3)
        self.assertEqual(out["lost"], 0)
        self.assertIsNone(out["loss"])
        done = self.declare(check=3)
        self.assertIn(f"audit #{decl} was changed after it was written", done.stderr)
        self.assertIn("which no declaration can declare lost", done.stderr)
        self.assertEqual(
            int(sqlite(self.db, "SELECT count(*) FROM audit WHERE action = 'declare-loss';")), 1)

    def test_declare_loss_names_the_problem_it_cannot_cover(self):
        sqlite(self.db, "DROP TRIGGER incident_event_append_only_delete;"
                        "DELETE FROM incident_event WHERE id = 3;"
                        "INSERT INTO engine_event (at, decision, cause) VALUES "
                        "(1795446000000, 'reset', 'staged');")
        done = self.declare(check=3)
        self.assertIn("was inserted outside the gateway", done.stderr)
        self.assertNotIn("was deleted", done.stderr)
        self.assertEqual(done.stderr.count("error:"), 1, done.stderr)

    def test_a_reason_with_control_characters_is_refused(self):
        sqlite(self.db, "DROP TRIGGER incident_event_append_only_delete;"
                        "DELETE FROM incident_event WHERE id = 3;")
        before = sqlite(self.db, "SELECT count(*) FROM audit;")
        done = self.gw.firegate("declare-loss", "--reason", "damage\x1b[2J", check=2)
        self.assertIn("without control characters", done.stderr)
        self.assertEqual(sqlite(self.db, "SELECT count(*) FROM audit;"), before)

    def test_a_bad_head_is_a_usage_error(self):
        done = self.gw.firegate("verify-log", "--head", "xyz", check=None)
        self.assertEqual(done.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
