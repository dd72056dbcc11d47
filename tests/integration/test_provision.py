#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`firegate provision` through the real binary, on a config in a temporary directory that
stands for /etc/firegate, with certificates from a throw-away CA made with openssl:

- a full provisioning sets every key in its section and keeps every other line (comments, an
  inline comment, a commented-out key) byte for byte; the files are copied with their modes and
  the config keeps its own; check-config accepts the result, an import verifies against the
  authority key it installed, and `firegate run` connects upstream to a real Mosquitto that
  requires TLS client certificates, where the gateway's retained status says online;
- the same run again changes no byte and no modification time, and says so;
- an account with its password on standard input reaches a Mosquitto that asks for it, and the
  config is no longer readable by other users;
- --web-self-signed makes a certificate that `firegate web` serves and that a client pinning it
  as its only CA accepts (one trusting the system's CAs does not), with the fingerprint printed;
  it is kept while the names stay the same;
- refused with exit 3, a reason each and nothing written: the demo authority key, no upstream
  credentials, a key that is not the certificate's, a plain tcp:// uplink, a CA that does not
  verify the client certificate, an expired certificate, a gateway id with a '/';
- --dry-run prints the diff and writes nothing; a symbolic link where a file goes is replaced,
  never written through.
"""

import datetime
import hashlib
import http.client
import os
import queue
import ssl
import stat
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402
from broker import Broker, make_client_cert  # noqa: E402

OK, FAILURE, USAGE, REFUSED = 0, 1, 2, 3
GW = "gw-test-01"
PASSWORD = "mat-khau-nen-tang-7"  # easy to find if it leaks into the output

try:
    import grp
    SERVICE_GID = grp.getgrnam("firegate").gr_gid
except KeyError:
    SERVICE_GID = None


class Provision(unittest.TestCase):
    def setUp(self):
        self.gw = fgtest.Gateway()
        self.addCleanup(self.gw.cleanup)
        self.upstream = Broker(require_certificate=True)
        self.addCleanup(self.upstream.cleanup)
        self.cert, self.key = make_client_cert(self.gw.dir, self.upstream.dir, GW)
        # The config and the files provisioned live in etc/, as they would in /etc/firegate.
        self.etc = self.gw.dir / "etc"
        self.etc.mkdir()
        self.web_port = fgtest.free_port()
        self.original = (
            "# firegate.conf for the provisioning test: every comment must survive.\n"
            "[gateway]\n"
            "# The test's own state directory.\n"
            f"state_dir = {self.gw.state}\n"
            "log_level = info        ; an inline comment, kept\n"
            "\n"
            "[registry]\n"
            "# Installed with the package; provisioning replaces it.\n"
            "authority_key = /etc/firegate/authority.pub\n"
            "\n"
            "[broker]\n"
            f"port = {fgtest.free_port()}\n"
            "\n"
            "[control]\n"
            f"runtime_dir = {self.gw.run_dir}\n"
            "\n"
            "[uplink]\n"
            "#certfile = /etc/firegate/commented-out.crt\n"
            "heartbeat_s = 5\n"
            "\n"
            "[web]\n"
            f"listen = 127.0.0.1:{self.web_port}\n"
            f"root = {fgtest.ROOT / 'gateway' / 'www'}\n")
        self.gw.config = self.etc / "firegate.conf"
        self.gw.config.write_text(self.original)
        self.gw.config.chmod(0o640)
        self.uri = f"ssl://127.0.0.1:{self.upstream.port}"

    def full(self, *extra):
        return ["--gateway-id", GW, "--authority-key", self.gw.pub, "--uplink", self.uri,
                "--uplink-ca", self.upstream.cafile, "--uplink-cert", self.cert,
                "--uplink-key", self.key, *extra]

    def provision(self, *args, check=None, input=None):
        done = self.gw.firegate("provision", *args, check=check, input=input)
        self.assertNotIn(PASSWORD, done.stdout + done.stderr)
        return done

    def snapshot(self):
        """Every file under etc/ and the state directory: bytes, mode and modification time."""
        files = {}
        for top in (self.etc, self.gw.state):
            for path in sorted(top.rglob("*")) if top.exists() else []:
                st = path.lstat()
                files[path] = (path.read_bytes() if stat.S_ISREG(st.st_mode) else None,
                               st.st_mode, st.st_mtime_ns)
        return files

    def assert_refused(self, args, reason, input=None):
        before = self.snapshot()
        done = self.provision(*args, check=REFUSED, input=input)
        self.assertIn(reason, done.stderr)
        self.assertIn("nothing written", done.stderr)
        self.assertEqual(self.snapshot(), before)
        return done

    def config_lines(self):
        return self.gw.config.read_text().splitlines()

    # --- a full provisioning ---

    def test_full_provisioning_connects_upstream_and_runs_again_unchanged(self):
        done = self.provision(*self.full(), check=OK)
        self.assertIn(f"provisioned {self.gw.config}: 6 settings and 4 files changed",
                      done.stdout)
        self.assertIn("-----BEGIN PUBLIC KEY-----", done.stdout)

        # Every original line is still there, in its order, but the one replaced; the new
        # ones are the keys set.
        lines, original = self.config_lines(), self.original.splitlines()
        replaced = "authority_key = /etc/firegate/authority.pub"
        kept = [line for line in original if line != replaced]
        self.assertEqual([line for line in lines if line in kept], kept)
        added = [line for line in lines if line not in original]
        self.assertEqual(added, [
            f"id = {GW}",
            f"authority_key = {self.etc / 'authority.pub'}",
            f"uris = {self.uri}",
            f"cafile = {self.etc / 'platform-ca.pem'}",
            f"certfile = {self.etc / 'gateway.crt'}",
            f"keyfile = {self.etc / 'gateway.key'}",
        ])
        self.assertEqual(lines[lines.index("[gateway]") + 4], f"id = {GW}")
        self.assertEqual(stat.S_IMODE(self.gw.config.stat().st_mode), 0o640)

        for name, source, mode in (("authority.pub", self.gw.pub, 0o644),
                                   ("platform-ca.pem", self.upstream.cafile, 0o644),
                                   ("gateway.crt", self.cert, 0o644),
                                   ("gateway.key", self.key, 0o640)):
            path = self.etc / name
            st = path.lstat()
            self.assertTrue(stat.S_ISREG(st.st_mode), name)
            self.assertEqual(stat.S_IMODE(st.st_mode), mode, name)
            self.assertEqual(path.read_bytes(), Path(source).read_bytes(), name)
            if SERVICE_GID is not None:
                self.assertEqual(st.st_gid, SERVICE_GID, name)
        signing_key = self.gw.state / "gateway.key"
        self.assertEqual(stat.S_IMODE(signing_key.stat().st_mode), 0o600)

        self.gw.firegate("check-config", "--quiet", check=OK)
        self.gw.firegate("import", self.gw.bundle(floors=2, units_per_floor=2), check=OK)

        before = self.snapshot()
        again = self.provision(*self.full(), check=OK)
        self.assertIn("nothing changed", again.stdout)
        self.assertNotIn("written", again.stdout)
        self.assertEqual(self.snapshot(), before)
        # The same public key both times: the signing key is made once.
        self.assertEqual(done.stdout.split("# firegate gateway")[1],
                         again.stdout.split("# firegate gateway")[1])

        daemon = fgtest.Daemon(self.gw)
        self.addCleanup(daemon.stop)
        daemon.wait_for(f"uplink {self.uri}: connected", timeout=30)
        status = subprocess.run(
            ["mosquitto_sub", *self.upstream.client_args(), "-t", f"firegate/v1/{GW}/status",
             "-C", "1", "-W", "10"], capture_output=True, text=True, timeout=20)
        self.assertIn('"state":"online"', status.stdout)
        self.assertEqual(daemon.stop(), 0)

    def test_account_with_password_on_stdin_connects(self):
        account = Broker(tls=True, users={GW: PASSWORD})
        self.addCleanup(account.cleanup)
        self.gw.config.chmod(0o644)
        uri = f"ssl://127.0.0.1:{account.port}"
        self.provision("--gateway-id", GW, "--authority-key", self.gw.pub, "--uplink", uri,
                       "--uplink-ca", account.cafile, "--uplink-user", GW, check=OK,
                       input=PASSWORD + "\n")
        lines = self.config_lines()
        self.assertIn(f"username = {GW}", lines)
        self.assertIn(f"password = {PASSWORD}", lines)
        # A password in the file: no longer for every user.
        self.assertEqual(stat.S_IMODE(self.gw.config.stat().st_mode), 0o640)
        self.assertFalse((self.etc / "gateway.key").exists())

        daemon = fgtest.Daemon(self.gw)
        self.addCleanup(daemon.stop)
        daemon.wait_for(f"uplink {uri}: connected", timeout=30)
        self.assertEqual(daemon.stop(), 0)

        # No password on standard input: refused, nothing written.
        self.assert_refused(["--uplink-user", GW], "needs its password", input="")

    # --- the desk page's certificate ---

    def test_self_signed_web_certificate_is_served_and_pinned(self):
        done = self.provision(*self.full("--web-self-signed", "gw-test.local,127.0.0.1"),
                              check=OK)
        crt, key = self.etc / "web.crt", self.etc / "web.key"
        self.assertEqual(stat.S_IMODE(crt.stat().st_mode), 0o644)
        self.assertEqual(stat.S_IMODE(key.stat().st_mode), 0o640)
        lines = self.config_lines()
        self.assertIn(f"certfile = {crt}", lines)
        self.assertIn(f"keyfile = {key}", lines)
        der = ssl.PEM_cert_to_DER_cert(crt.read_text())
        fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
        self.assertIn(f"SHA-256 fingerprint {fingerprint}", done.stdout)
        check = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-ext",
                                "subjectAltName,extendedKeyUsage,basicConstraints"],
                               capture_output=True, text=True, check=True).stdout
        self.assertIn("DNS:gw-test.local, IP Address:127.0.0.1", check)
        self.assertIn("TLS Web Server Authentication", check)
        self.assertIn("CA:FALSE", check)

        self.gw.firegate("import", self.gw.bundle(floors=2, units_per_floor=2), check=OK)
        web = subprocess.Popen([fgtest.BIN, "--config", str(self.gw.config), "web"],
                               stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (web.poll() is None and web.terminate(), web.wait(20),
                                 web.stderr.close()))
        lines_q = queue.Queue()
        threading.Thread(target=lambda: [lines_q.put(x) for x in web.stderr],
                         daemon=True).start()
        deadline, said = time.monotonic() + 20, []
        while not any("web: listening on https://" in x for x in said):
            self.assertLess(time.monotonic(), deadline, "".join(said))
            try:
                said.append(lines_q.get(timeout=0.2))
            except queue.Empty:
                self.assertIsNone(web.poll(), "".join(said))

        pinned = ssl.create_default_context(cafile=str(crt))
        conn = http.client.HTTPSConnection("127.0.0.1", self.web_port, context=pinned,
                                           timeout=10)
        conn.request("GET", "/")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        stranger = http.client.HTTPSConnection("127.0.0.1", self.web_port, timeout=10,
                                               context=ssl.create_default_context())
        with self.assertRaises(ssl.SSLCertVerificationError):
            stranger.request("GET", "/")
        stranger.close()

        # Kept while the names stay; made anew for other names.
        again = self.provision(*self.full("--web-self-signed", "gw-test.local,127.0.0.1"),
                               check=OK)
        self.assertIn("nothing changed", again.stdout)
        self.assertIn("kept, self-signed", again.stdout)
        self.assertEqual(ssl.PEM_cert_to_DER_cert(crt.read_text()), der)
        self.provision(*self.full("--web-self-signed", "gw-test.local,127.0.0.1,192.0.2.7"),
                       check=OK)
        self.assertNotEqual(ssl.PEM_cert_to_DER_cert(crt.read_text()), der)

    # --- refusals ---

    def test_demo_authority_key_is_refused(self):
        demo_key, demo_pub = self.gw.dir / "demo.pem", self.gw.dir / "demo.pub"
        fgtest.run(fgtest.FG_SIGN, "keygen", "--demo", demo_key, demo_pub, check=0)
        args = self.full()
        args[args.index("--authority-key") + 1] = demo_pub
        self.assert_refused(args, "is a DEMO authority key")

    def test_no_upstream_credentials_is_refused(self):
        self.assert_refused(["--gateway-id", GW, "--authority-key", self.gw.pub, "--uplink",
                             self.uri, "--uplink-ca", self.upstream.cafile],
                            "no upstream credentials")

    def test_key_of_another_certificate_is_refused(self):
        _, other_key = make_client_cert(self.gw.dir, self.upstream.dir, "another-gateway")
        args = self.full()
        args[args.index("--uplink-key") + 1] = other_key
        self.assert_refused(args, "the key does not match the certificate CN=" + GW)

    def test_plain_tcp_uplink_is_refused(self):
        args = self.full()
        args[args.index("--uplink") + 1] = f"{self.uri},tcp://127.0.0.1:1883"
        self.assert_refused(args, "tcp://127.0.0.1:1883 is plain MQTT")

    def test_ca_that_does_not_verify_the_client_certificate_is_refused(self):
        other = Broker(tls=True)
        self.addCleanup(other.cleanup)
        args = self.full()
        args[args.index("--uplink-ca") + 1] = other.cafile
        self.assert_refused(args, "the CA does not verify the client certificate CN=" + GW)

    def test_expired_certificate_is_refused(self):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        ca_key = serialization.load_pem_private_key((self.upstream.dir / "ca.key").read_bytes(),
                                                    None)
        ca = x509.load_pem_x509_certificate(self.upstream.cafile.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, GW)]))
                .issuer_name(ca.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=10))
                .not_valid_after(now - datetime.timedelta(days=1))
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
                .sign(ca_key, hashes.SHA256()))
        expired_pem, expired_key = self.gw.dir / "expired.pem", self.gw.dir / "expired.key"
        expired_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        expired_key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
        args = self.full()
        args[args.index("--uplink-cert") + 1] = expired_pem
        args[args.index("--uplink-key") + 1] = expired_key
        self.assert_refused(args, f"the certificate CN={GW} expired on ")

    def test_gateway_id_with_a_slash_is_refused(self):
        args = self.full()
        args[args.index("--gateway-id") + 1] = "gw/01"
        self.assert_refused(args, "invalid id 'gw/01'")

    def test_usage_errors(self):
        for args in ([], ["--uplink-cert", self.cert], ["--web-key", self.key],
                     ["--web-cert", self.cert, "--web-key", self.key, "--web-self-signed", "x"],
                     ["--uplink-cert", self.cert, "--uplink-key", self.key, "--uplink-user", GW]):
            self.provision(*args, check=USAGE)
        self.assertIn("--web-self-signed", self.provision("--help", check=OK).stdout)

    # --- writing nothing, and writing safely ---

    def test_dry_run_shows_the_diff_and_writes_nothing(self):
        before = self.snapshot()
        done = self.provision(*self.full("--web-self-signed", "127.0.0.1", "--dry-run"),
                              check=OK)
        self.assertEqual(self.snapshot(), before)
        self.assertIn(f"--- {self.gw.config}\n", done.stdout)
        self.assertIn(f"\n+id = {GW}\n", done.stdout)
        self.assertIn("\n-authority_key = /etc/firegate/authority.pub\n", done.stdout)
        self.assertIn("would write", done.stdout)
        self.assertIn("would make the gateway's signing key", done.stdout)
        self.assertIn("a new self-signed one would be made", done.stdout)
        self.assertNotIn("fingerprint", done.stdout)
        self.assertFalse((self.gw.state / "gateway.key").exists())

    def test_symbolic_link_in_the_way_is_replaced_not_followed(self):
        outside = self.gw.dir / "outside.key"
        outside.write_text("not to be overwritten\n")
        (self.etc / "gateway.key").symlink_to(outside)
        self.provision(*self.full(), check=OK)
        self.assertEqual(outside.read_text(), "not to be overwritten\n")
        self.assertFalse((self.etc / "gateway.key").is_symlink())
        self.assertEqual((self.etc / "gateway.key").read_bytes(), Path(self.key).read_bytes())


if __name__ == "__main__":
    unittest.main(verbosity=2)
