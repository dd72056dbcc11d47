# SPDX-License-Identifier: GPL-2.0-or-later
"""A real Mosquitto broker for a test: started on a free loopback port with a config of its
own in a temporary directory, and stopped (or restarted, keeping its port) by the test. Messages
are published with Debian's mosquitto_pub and read with mosquitto_sub, the clients an installer
would use."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ca_and_server_cert(directory):
    """A throw-away CA and a server certificate for 127.0.0.1 (openssl, as an installer would)."""
    d = Path(directory)

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", d / "ca.key", "-out", d / "ca.pem", "-days", "2",
            "-subj", "/CN=firegate test CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", d / "server.key", "-out", d / "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", d / "server.csr", "-CA", d / "ca.pem", "-CAkey",
            d / "ca.key", "-CAcreateserial", "-out", d / "server.pem", "-days", "2",
            "-extfile", d / "san.ext")
    return d / "ca.pem"


def make_client_cert(directory, ca_dir, cn):
    """A client certificate and key for @cn (its subject's common name), signed by the CA that
    make_ca_and_server_cert() left in @ca_dir; written to @directory as CN.pem and CN.key.
    Returns (certificate, key)."""
    d, ca = Path(directory), Path(ca_dir)

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    key, csr, pem, ext = d / f"{cn}.key", d / f"{cn}.csr", d / f"{cn}.pem", d / f"{cn}.ext"
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
    ext.write_text("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca / "ca.pem", "-CAkey", ca / "ca.key",
            "-CAcreateserial", "-out", pem, "-days", "2", "-extfile", ext)
    return pem, key


class Broker:
    """@tls: a TLS listener with a certificate for 127.0.0.1 from a CA of its own (cafile).
    @require_certificate (implies TLS): clients must present a certificate from that CA, and
    its common name is their user name; the broker makes one for itself, CN "test-admin", for
    publish() and client_args(). @acl_file: Mosquitto's ACL file, by those user names.
    @users: {name: password}: only they may connect (mosquitto_passwd makes the file);
    publish() and client_args() use the first."""

    def __init__(self, tls=False, require_certificate=False, acl_file=None, users=None):
        self.dir = Path(tempfile.mkdtemp(prefix="firegate-broker-"))
        self.port = free_port()
        self.conf = self.dir / "mosquitto.conf"
        tls = tls or require_certificate
        self.cafile = make_ca_and_server_cert(self.dir) if tls else None
        self.client_cert = None
        self.login = None
        text = (f"listener {self.port} 127.0.0.1\n"
                f"allow_anonymous {'false' if users else 'true'}\n"
                "persistence false\nlog_dest stderr\n")
        if users:
            passwd = self.dir / "passwd"
            for name, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", *([] if passwd.exists() else ["-c"]),
                                passwd, name, password], check=True, capture_output=True,
                               timeout=30)
            text += f"password_file {passwd}\n"
            self.login = next(iter(users.items()))
        if tls:
            text += (f"cafile {self.cafile}\ncertfile {self.dir / 'server.pem'}\n"
                     f"keyfile {self.dir / 'server.key'}\n")
        if require_certificate:
            text += "require_certificate true\nuse_identity_as_username true\n"
            self.client_cert = make_client_cert(self.dir, self.dir, "test-admin")
        if acl_file:
            text += f"acl_file {acl_file}\n"
        if os.geteuid() == 0:
            text += "user root\n"
        self.conf.write_text(text)
        self.proc = None
        self.start()

    def start(self, timeout=10):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start on port {self.port}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def client_args(self):
        """What mosquitto_pub and mosquitto_sub need to reach this broker."""
        argv = ["-h", "127.0.0.1", "-p", str(self.port)]
        if self.cafile:
            argv += ["--cafile", str(self.cafile)]
        if self.client_cert:
            argv += ["--cert", str(self.client_cert[0]), "--key", str(self.client_cert[1])]
        if self.login:
            argv += ["-u", self.login[0], "-P", self.login[1]]
        return argv

    def publish(self, topic, payload, retain=False, qos=1):
        argv = ["mosquitto_pub", *self.client_args(), "-q", str(qos), "-t", topic, "-m", payload]
        if retain:
            argv.append("-r")
        subprocess.run(argv, check=True, timeout=10)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
