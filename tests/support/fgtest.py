# SPDX-License-Identifier: GPL-2.0-or-later
"""What the integration tests share: where the binary and the tools are, a throw-away state
directory with its own config and authority key, and signed synthetic bundles.

Every test drives the real `firegate` binary (FIREGATE_BIN, set by CTest) against real SQLite
files; nothing here stands in for a part of the gateway.
"""

import json
import os
import queue
import signal
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(os.environ.get("FIREGATE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BIN = os.environ.get("FIREGATE_BIN", str(ROOT / "build" / "debug" / "firegate"))
FG_SIGN = ROOT / "scripts" / "fg-sign"
MAKE_BUILDING = ROOT / "tests" / "support" / "make_building.py"
SCHEMA = ROOT / "schema" / "registry-bundle.schema.json"

# A sanitizer's finding must never pass for an expected failure: both sanitizers exit with a
# status no firegate command uses, and run() fails on their report whatever the status was.
# Options already in the environment are kept unless they would weaken this.
SANITIZER_EXIT = 86
SANITIZER_MARKERS = ("Sanitizer", "runtime error:")


def _sanitizer_options(variable, forced, defaults):
    options = dict(defaults)
    for item in os.environ.get(variable, "").split(":"):
        name, sep, value = item.partition("=")
        if sep and name:
            options[name] = value
    options.update(forced)
    os.environ[variable] = ":".join(f"{k}={v}" for k, v in options.items())


_sanitizer_options("ASAN_OPTIONS", {"detect_leaks": "1", "exitcode": str(SANITIZER_EXIT)},
                   {"abort_on_error": "0"})
_sanitizer_options("UBSAN_OPTIONS", {"halt_on_error": "1", "exitcode": str(SANITIZER_EXIT)},
                   {"print_stacktrace": "1"})


def sanitizer_report(stderr, returncode=None):
    """What betrays a sanitizer's finding in a process's stderr or exit status, or None."""
    for marker in SANITIZER_MARKERS:
        if marker in (stderr or ""):
            return f"its stderr contains {marker!r}"
    if returncode == SANITIZER_EXIT:
        return f"it exited {SANITIZER_EXIT}, the sanitizers' exit status"
    return None


def run(*argv, env=None, timeout=120, check=None, input=None):
    """Runs a command and returns the CompletedProcess (text, both streams captured).

    @input is written to its standard input (otherwise it reads an empty one). Raises
    AssertionError when a sanitizer reported anything, whatever exit status was expected, and
    when @check is given and the exit status differs.
    """
    full_env = dict(os.environ)
    full_env.pop("FIREGATE_CONFIG", None)
    if env:
        full_env.update(env)
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          errors="backslashreplace", timeout=timeout, env=full_env,
                          input=input if input is not None else "")
    why = sanitizer_report(done.stderr, done.returncode)
    if why:
        raise AssertionError(f"{argv}: a sanitizer reported a bug ({why}); exit status "
                             f"{done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    if check is not None and done.returncode != check:
        raise AssertionError(f"{argv} exited {done.returncode}, expected {check}\n"
                             f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return done


def free_port():
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    """A state directory, a config naming it, and an authority key pair, all under one temp dir."""

    def __init__(self, demo_key=False, extra_config="", broker_port=None, broker_extra=""):
        self.dir = Path(tempfile.mkdtemp(prefix="firegate-it-"))
        self.state = self.dir / "state"
        self.key = self.dir / "authority.pem"
        self.pub = self.dir / "authority.pub"
        keygen = [FG_SIGN, "keygen"] + (["--demo"] if demo_key else []) + [self.key, self.pub]
        self.key_id = run(*keygen, check=0).stdout.split()[-1]
        self.config = self.dir / "firegate.conf"
        # The daemon's socket and its broker stay inside the test: a port nothing listens on
        # unless the test starts a broker there, and a runtime directory of its own.
        self.run_dir = self.dir / "run"
        port = broker_port if broker_port else free_port()
        self.config.write_text(f"[gateway]\nstate_dir = {self.state}\n{extra_config}"
                               f"[registry]\nauthority_key = {self.pub}\n"
                               f"[broker]\nport = {port}\n{broker_extra}"
                               f"[control]\nruntime_dir = {self.run_dir}\n")

    def firegate(self, *args, check=None, env=None, timeout=120, input=None):
        return run(BIN, "--config", self.config, *args, check=check, env=env, timeout=timeout,
                   input=input)

    def json(self, *args):
        return json.loads(self.firegate(*args, "--json", check=0).stdout)

    def bundle(self, name="bundle.json", sign=True, key=None, **options):
        """Generates a synthetic building (make_building.py options as keywords) and signs it."""
        raw = self.dir / f"raw-{name}"
        argv = [MAKE_BUILDING]
        for opt, value in options.items():
            argv += [f"--{opt.replace('_', '-')}", str(value)]
        run(*argv, raw, check=0)
        if not sign:
            return raw
        out = self.dir / name
        run(FG_SIGN, "sign", "--key", key or self.key, raw, out, check=0)
        return out

    def dump(self):
        """The registry tables' rows, to compare the store before and after an operation."""
        db = sqlite3.connect(f"file:{self.state / 'firegate.db'}?mode=ro", uri=True)
        try:
            tables = ["building", "zone", "unit", "resident", "detector"]
            return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
        finally:
            db.close()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def load_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_json(path, value):
    Path(path).write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


class Daemon:
    """firegate run, its stderr read line by line on a thread into a queue."""

    def __init__(self, gw):
        self.proc = subprocess.Popen([BIN, "--config", str(gw.config), "run"],
                                     stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ))
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"never saw {needle!r}; saw:\n" + "\n".join(self.seen[-40:]))

    def drain(self):
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return "\n".join(self.seen)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)
