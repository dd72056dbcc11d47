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


class Broker:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="firegate-broker-"))
        self.port = free_port()
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             f"persistence false\nlog_dest stderr\n"
                             + ("user root\n" if os.geteuid() == 0 else ""))
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

    def publish(self, topic, payload, retain=False, qos=1):
        argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", str(qos),
                "-t", topic, "-m", payload]
        if retain:
            argv.append("-r")
        subprocess.run(argv, check=True, timeout=10)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
