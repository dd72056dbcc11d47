#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`firegate user` through the real binary: accounts added with the password on standard input,
listed as a table and as JSON, a wrong role and a taken name refused with their exit codes, a
new password, a disabled account. The password never shows in the output nor, in clear, in the
store: only an argon2id hash is there.
"""

import sqlite3
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

OK, FAILURE, USAGE, REFUSED = 0, 1, 2, 3
SECRET = "Ch4y-nh4-an-toan"  # "fire safety": long enough, and easy to find if it leaks
OTHER = "mat-khau-moi-2026"


class UsersCli(unittest.TestCase):
    def setUp(self):
        self.gw = fgtest.Gateway()
        self.db = self.gw.state / "firegate.db"

    def tearDown(self):
        self.gw.cleanup()

    def user(self, *args, check=None, password=None):
        done = self.gw.firegate("user", *args, check=check,
                                input=None if password is None else password + "\n")
        for secret in (SECRET, OTHER):
            self.assertNotIn(secret, done.stdout + done.stderr)
        return done

    def rows(self):
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return db.execute("SELECT name, role, password_hash, disabled, language "
                              "FROM desk_user ORDER BY name").fetchall()
        finally:
            db.close()

    def test_add_list_passwd_role_disable(self):
        self.user("add", "guard.1", "--role", "manager", password=SECRET, check=OK)
        self.user("add", "admin", "--role", "admin", "--language", "en", password=OTHER,
                  check=OK)
        text = self.user("list", check=OK).stdout
        self.assertIn("guard.1", text)
        self.assertIn("manager", text)
        listed = self.gw.json("user", "list")
        self.assertEqual([(u["name"], u["role"], u["language"], u["state"]) for u in listed],
                         [("admin", "admin", "en", "active"),
                          ("guard.1", "manager", "vi", "active")])
        self.assertTrue(all("hash" not in k for u in listed for k in u))
        before = dict((r[0], r[2]) for r in self.rows())
        self.user("passwd", "guard.1", password=OTHER, check=OK)
        after = dict((r[0], r[2]) for r in self.rows())
        self.assertNotEqual(before["guard.1"], after["guard.1"])
        self.assertEqual(before["admin"], after["admin"])
        self.user("role", "guard.1", "viewer", check=OK)
        self.user("disable", "guard.1", check=OK)
        listed = {u["name"]: u for u in self.gw.json("user", "list")}
        self.assertEqual(listed["guard.1"]["role"], "viewer")
        self.assertEqual(listed["guard.1"]["state"], "disabled")
        self.assertEqual(listed["admin"]["state"], "active")
        self.assertNoPasswordInStore()
        # Every change is in the chained audit log, with who made it and never a password.
        db = sqlite3.connect(f"file:{self.gw.state / 'firegate.db'}?mode=ro", uri=True)
        try:
            audit = db.execute("SELECT origin, action, params FROM audit ORDER BY id").fetchall()
        finally:
            db.close()
        self.assertEqual(audit, [
            ("local", "user-add", '{"name":"guard.1","role":"manager"}'),
            ("local", "user-add", '{"name":"admin","role":"admin"}'),
            ("local", "user-passwd", '{"name":"guard.1"}'),
            ("local", "user-role", '{"name":"guard.1","role":"viewer"}'),
            ("local", "user-disable", '{"name":"guard.1"}')])
        self.assertEqual(self.gw.firegate("verify-log", check=None).returncode, 0)

    def assertNoPasswordInStore(self):
        for name, _, hash_, _, _ in self.rows():
            self.assertTrue(hash_.startswith("$argon2id$v=19$m=65536,t=2,p=1$"), name)
        for path in self.gw.state.iterdir():
            data = path.read_bytes()
            for secret in (SECRET, OTHER):
                self.assertNotIn(secret.encode(), data, path)

    def test_wrong_role_is_a_usage_error(self):
        done = self.user("add", "guard", "--role", "root", password=SECRET, check=USAGE)
        self.assertIn("viewer, manager or admin", done.stderr)
        self.user("add", "guard", password=SECRET, check=USAGE)
        self.user("add", "Guard", "--role", "viewer", password=SECRET, check=USAGE)
        self.user("add", "guard", "--role", "viewer", "--language", "fr", password=SECRET,
                  check=USAGE)
        self.user("role", "guard", "root", check=USAGE)
        self.user("frobnicate", check=USAGE)

    def test_taken_name_is_refused(self):
        self.user("add", "guard", "--role", "viewer", password=SECRET, check=OK)
        done = self.user("add", "guard", "--role", "admin", password=OTHER, check=REFUSED)
        self.assertIn("exists already", done.stderr)
        self.assertEqual([r[1] for r in self.rows()], ["viewer"])

    def test_weak_or_missing_password_is_refused(self):
        done = self.user("add", "guard", "--role", "viewer", password="short", check=REFUSED)
        self.assertIn("10 characters", done.stderr)
        self.user("add", "guard1234567", "--role", "viewer", password="guard1234567",
                  check=REFUSED)
        self.user("add", "guard", "--role", "viewer", check=REFUSED)  # empty stdin
        self.assertFalse(self.db.exists() and self.rows())

    def test_unknown_account_is_refused(self):
        self.user("add", "guard", "--role", "viewer", password=SECRET, check=OK)
        self.user("passwd", "nobody", password=SECRET, check=REFUSED)
        self.user("role", "nobody", "admin", check=REFUSED)
        self.user("disable", "nobody", check=REFUSED)

    def test_help(self):
        self.assertIn("user add NAME --role ROLE", self.user("--help", check=OK).stdout)


if __name__ == "__main__":
    unittest.main()
