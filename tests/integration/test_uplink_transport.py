#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The uplink (gateway/uplink.c, Paho MQTT C) against real Mosquitto brokers on free loopback
ports, through tests/support/uplink_probe, which prints one line per event. Proves: a TLS
connection with a client certificate speaks MQTT 5, says "online" (retained) and gets every
publish acknowledged and delivered in order; a client without a certificate, with one from
another CA, or facing a server it does not trust, or one offering only TLS 1.1, never connects;
failover to the next server; the broker's will says "offline" when the gateway dies; a
restarted broker is reconnected to with its subscriptions made again; and a 3.1.1-only broker
is spoken to in 3.1.1, which is remembered.
"""

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402  (also sets the sanitizers' options for the probe)
from broker import Broker, free_port, make_ca_and_server_cert, make_client_cert  # noqa: E402

PROBE = os.environ.get("FIREGATE_UPLINK_PROBE",
                       str(fgtest.ROOT / "build" / "debug" / "tests" / "uplink_probe"))
GW = "firegate/v1/gw-1"
STATUS = f"{GW}/status"


class Probe:
    """uplink_probe, its stdout (events) and stderr (the uplink's log) read on threads."""

    def __init__(self, *args, env=None):
        self.proc = subprocess.Popen([PROBE, *map(str, args)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.events = queue.Queue()
        self.seen = []
        self.log = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.events.put),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.log.append),
                         daemon=True).start()

    @staticmethod
    def _read(stream, sink):
        for line in stream:
            sink(line.rstrip("\n"))

    def wait_for(self, pattern, timeout=10):
        """The next event line matching the regular expression @pattern."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.events.get(timeout=0.05)
            except queue.Empty:
                if self.proc.poll() is not None and self.events.empty():
                    break
                continue
            self.seen.append(line)
            if re.fullmatch(pattern, line):
                return line
        raise AssertionError(f"never saw {pattern!r}; events:\n" + "\n".join(self.seen[-30:]) +
                             "\nlog:\n" + "\n".join(self.log[-30:]))

    def drain(self):
        while not self.events.empty():
            self.seen.append(self.events.get_nowait())
        return self.seen

    def wait(self, timeout=10):
        """Waits for the probe to exit by itself; returns its status, sanitizer-checked."""
        status = self.proc.wait(timeout=timeout)
        time.sleep(0.05)  # the reader threads take the last lines
        why = fgtest.sanitizer_report("\n".join(self.log), status)
        assert why is None, f"a sanitizer reported a bug ({why}):\n" + "\n".join(self.log)
        self.drain()
        return status

    def stop(self):
        """SIGTERM, as systemd stops the daemon; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


def reap(proc):
    """Ends a helper process the test started (mosquitto_sub, openssl s_server)."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


class Mqtt311Proxy:
    """Stands in for an MQTT 3.1.1-only broker, since Debian 12 packages none (its Mosquitto
    always speaks MQTT 5): a CONNECT at protocol level 5 gets the answer such a broker gives,
    a 3.1.1 CONNACK with return code 1, "unacceptable protocol version", and the connection
    closed; any other connection is passed through to the real broker behind it."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.levels = []  # the protocol level of each CONNECT seen, in order
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.server.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_exactly(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _read_packet(self, conn):
        header = self._read_exactly(conn, 1)
        length, shift, raw = 0, 0, b""
        while True:  # MQTT's variable-length "remaining length"
            byte = self._read_exactly(conn, 1)
            raw += byte
            length |= (byte[0] & 0x7F) << shift
            shift += 7
            if not byte[0] & 0x80:
                break
        return header + raw + self._read_exactly(conn, length), len(header + raw)

    def _serve(self, conn):
        try:
            packet, offset = self._read_packet(conn)
            # CONNECT: protocol name (2-byte length + "MQTT"), then the protocol level.
            level = packet[offset + 6]
            self.levels.append(level)
            if level == 5:
                conn.sendall(b"\x20\x02\x00\x01")
                conn.close()
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            upstream.settimeout(None)
            upstream.sendall(packet)
        except (OSError, ConnectionError, IndexError):
            conn.close()
            return
        threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()
        self._pipe(conn, upstream)

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class UplinkTransport(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="firegate-uplink-"))
        self.addCleanup(shutil.rmtree, self.dir, True)

    def broker(self, **options):
        broker = Broker(require_certificate=True, **options)
        self.addCleanup(broker.cleanup)
        return broker

    def probe(self, *args, env=None):
        probe = Probe(*args, env=env)
        self.addCleanup(probe.kill)
        return probe

    def tls_args(self, broker, cn="gw-1"):
        cert, key = make_client_cert(self.dir, broker.dir, cn)
        return ["--cafile", broker.cafile, "--cert", cert, "--key", key, "--client-id", cn,
                "--status-topic", STATUS]

    def retained(self, broker, topic):
        """The retained message on @topic, or None."""
        done = subprocess.run(["mosquitto_sub", *broker.client_args(), "-t", topic, "-C", "1",
                               "-W", "1", "--retained-only"], capture_output=True, text=True,
                              timeout=10)
        return done.stdout.strip() or None

    def wait_retained(self, broker, topic, expected, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.retained(broker, topic)
            if got == expected:
                return
            time.sleep(0.1)
        self.fail(f"retained on {topic}: {got!r}, expected {expected!r}")

    def test_tls_client_certificate_mqtt5_online_and_every_publish_acked_in_order(self):
        broker = self.broker()
        n = 50
        sub = subprocess.Popen(["mosquitto_sub", *broker.client_args(), "-t", f"{GW}/alert",
                                "-q", "1", "-C", str(n), "-W", "20"],
                               stdout=subprocess.PIPE, text=True)
        self.addCleanup(reap, sub)
        time.sleep(0.3)  # the subscription reaches the broker before the first publish
        uri = f"ssl://127.0.0.1:{broker.port}"
        probe = self.probe("--uri", uri, *self.tls_args(broker), "--topic", f"{GW}/alert",
                           "--count", n)
        probe.wait_for(rf"connected {re.escape(uri)} v5")
        for _ in range(n):
            probe.wait_for(r"delivered \d+")
        delivered = [int(line.split()[1]) for line in probe.seen if line.startswith("delivered")]
        self.assertEqual(sorted(delivered), list(range(1, n + 1)))
        out, _ = sub.communicate(timeout=20)
        self.assertEqual(out.split(), [f"msg-{i}" for i in range(1, n + 1)])
        self.assertEqual(self.retained(broker, STATUS), '{"state":"online"}')
        # A clean stop says "offline" itself: a clean disconnect keeps the broker's will back.
        self.assertEqual(probe.stop(), 0)
        self.assertEqual(probe.seen[-1], "exit")
        self.assertEqual(self.retained(broker, STATUS), '{"state":"offline"}')
        self.assertEqual(sum("connected (MQTT 5" in line for line in probe.log), 1, probe.log)

    def test_no_client_certificate_or_a_foreign_one_or_an_untrusted_server_never_connects(self):
        broker = self.broker()
        other = self.dir / "other-ca"
        other.mkdir()
        other_ca = make_ca_and_server_cert(other)
        foreign_cert, foreign_key = make_client_cert(other, other, "gw-1")
        own_cert, own_key = make_client_cert(self.dir, broker.dir, "gw-1")
        uri = f"ssl://127.0.0.1:{broker.port}"
        common = ["--uri", uri, "--client-id", "gw-1", "--backoff-min", 400, "--backoff-max",
                  400]
        probes = {
            "no certificate": self.probe(*common, "--cafile", broker.cafile),
            "foreign certificate": self.probe(*common, "--cafile", broker.cafile, "--cert",
                                              foreign_cert, "--key", foreign_key),
            "untrusted server": self.probe(*common, "--cafile", other_ca, "--cert", own_cert,
                                           "--key", own_key),
        }
        time.sleep(2.5)
        for name, probe in probes.items():
            self.assertEqual(probe.stop(), 0, name)
            self.assertFalse([e for e in probe.seen if e.startswith("connected")], name)
            failures = [line for line in probe.log if f"uplink {uri}: cannot connect" in line]
            # One line per attempt: a first round at once, then one every 200..400 ms.
            self.assertTrue(1 <= len(failures) <= 14, (name, probe.log))
        untrusted = probes["untrusted server"].log
        self.assertIn(f"uplink {uri}: cannot connect: TLS: certificate verify failed",
                      "\n".join(untrusted))

    def test_tls_older_than_1_2_is_refused_whatever_the_system_policy(self):
        ca = make_ca_and_server_cert(self.dir)
        port = free_port()
        # OpenSSL's own test server, limited to TLS 1.1 (which needs security level 0 now).
        server = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                                   "-cert", self.dir / "server.pem", "-key",
                                   self.dir / "server.key", "-tls1_1", "-cipher",
                                   "DEFAULT:@SECLEVEL=0", "-quiet"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        self.addCleanup(reap, server)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        # The system's OpenSSL policy would refuse TLS 1.1 by itself; this one allows it (as
        # openssl s_client shows with it), so the refusal below is the uplink's own.
        weak = self.dir / "weak-openssl.cnf"
        weak.write_text("openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\n"
                        "system_default = policy\n[policy]\nMinProtocol = TLSv1\n"
                        "CipherString = DEFAULT@SECLEVEL=0\n")
        uri = f"ssl://127.0.0.1:{port}"
        probe = self.probe("--uri", uri, "--cafile", ca, "--backoff-min", 2000,
                           env={"OPENSSL_CONF": str(weak)})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any("cannot connect" in l for l in probe.log):
            time.sleep(0.05)
        self.assertEqual(probe.stop(), 0)
        self.assertFalse([e for e in probe.seen if e.startswith("connected")])
        self.assertIn(f"uplink {uri}: cannot connect: TLS:", "\n".join(probe.log))
        # ... while OpenSSL's own client, under the same policy, gets TLS 1.1 from the server.
        done = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile",
                               ca], input="", capture_output=True, text=True, timeout=10,
                              env={**os.environ, "OPENSSL_CONF": str(weak)})
        self.assertRegex(done.stdout, r"Protocol\s*: TLSv1\.1")

    def test_failover_past_a_closed_port_and_a_stopped_broker_to_the_third_server(self):
        stopped = self.broker()
        stopped.stop()
        broker = self.broker()
        closed = f"ssl://127.0.0.1:{free_port()}"
        down = f"ssl://127.0.0.1:{stopped.port}"
        good = f"ssl://127.0.0.1:{broker.port}"
        probe = self.probe("--uri", closed, "--uri", down, "--uri", good,
                           *self.tls_args(broker), "--topic", f"{GW}/alert", "--count", 3,
                           "--exit-when-done")
        probe.wait_for(rf"connected {re.escape(good)} v5")
        self.assertEqual(probe.wait(), 0)
        self.assertEqual(sorted(e for e in probe.seen if e.startswith("delivered")),
                         ["delivered 1", "delivered 2", "delivered 3"])
        log = "\n".join(probe.log)
        self.assertLess(log.index(f"uplink {closed}: cannot connect"),
                        log.index(f"uplink {down}: cannot connect"))

    def test_killed_gateway_leaves_the_retained_will_offline(self):
        broker = self.broker()
        probe = self.probe("--uri", f"ssl://127.0.0.1:{broker.port}", *self.tls_args(broker))
        probe.wait_for(r"connected .* v5")
        self.assertEqual(self.retained(broker, STATUS), '{"state":"online"}')
        probe.kill()  # SIGKILL: no chance to say anything, as in a power cut
        self.wait_retained(broker, STATUS, '{"state":"offline"}')

    def test_broker_restart_loses_then_reconnects_with_its_subscriptions(self):
        broker = self.broker()
        uri = f"ssl://127.0.0.1:{broker.port}"
        probe = self.probe("--uri", uri, *self.tls_args(broker), "--subscribe", f"{GW}/cmd/#",
                           "--backoff-min", 200, "--backoff-max", 1000)
        probe.wait_for(rf"connected {re.escape(uri)} v5")
        broker.publish(f"{GW}/cmd/silence", "first")
        probe.wait_for(rf"message {GW}/cmd/silence first")
        broker.stop()
        probe.wait_for(rf"lost {re.escape(uri)} inflight 0")
        time.sleep(0.5)
        broker.start()
        probe.wait_for(rf"connected {re.escape(uri)} v5")
        broker.publish(f"{GW}/cmd/reset", "second")
        probe.wait_for(rf"message {GW}/cmd/reset second")
        self.assertEqual(probe.stop(), 0)

    def test_mqtt311_only_broker_is_spoken_to_in_311_and_that_is_remembered(self):
        broker = Broker()
        self.addCleanup(broker.cleanup)
        proxy = Mqtt311Proxy(broker.port)
        self.addCleanup(proxy.close)
        uri = f"tcp://127.0.0.1:{proxy.port}"
        probe = self.probe("--uri", uri, "--client-id", "gw-1", "--status-topic", STATUS,
                           "--subscribe", f"{GW}/cmd/#", "--topic", f"{GW}/alert", "--count", 5,
                           "--backoff-min", 200, "--backoff-max", 1000)
        probe.wait_for(rf"connected {re.escape(uri)} v4")
        for _ in range(5):
            probe.wait_for(r"delivered \d+")
        self.assertEqual(self.retained(broker, STATUS), '{"state":"online"}')
        self.assertIn(f"uplink {uri} refuses MQTT 5", "\n".join(probe.log))
        # The broker goes away and comes back: the uplink asks in 3.1.1 straight away.
        broker.stop()
        probe.wait_for(rf"lost {re.escape(uri)} inflight 0")
        broker.start()
        probe.wait_for(rf"connected {re.escape(uri)} v4")
        broker.publish(f"{GW}/cmd/ack", "hello")
        probe.wait_for(rf"message {GW}/cmd/ack hello")
        self.assertEqual(probe.stop(), 0)
        self.assertEqual(proxy.levels.count(5), 1, proxy.levels)
        self.assertGreaterEqual(proxy.levels.count(4), 2, proxy.levels)


if __name__ == "__main__":
    unittest.main(verbosity=2)
