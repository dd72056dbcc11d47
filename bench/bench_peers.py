#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""firegate against its peers, every row measured in one run on the same brokers: mosquitto_sub
(the ceiling: a consumer that does nothing with a message), firegate, and Node-RED 4 running the
equivalent flow (bench/node-red-flow.json). Prints one markdown table with the targets.

Set-up: a building broker (Mosquitto on loopback, set_tcp_nodelay on) and the platform's
broker (TLS, client certificates, examples/upstream-acl.conf), as bench_uplink.py does.
Synthetic buildings from tests/support/make_building.py, every wireless detector moved behind
Zigbee2MQTT and the wired call points left out (the load is MQTT), cut to exactly 100, 1,000
and 10,000 detectors, signed and imported. bench/loadgen (C) plays the Zigbee2MQTT bridge: each
detector's whole state on zigbee2mqtt/<device>, in turn, at an exact rate, and alarms clocked
to the platform.

Rows, in the order they are measured:
- idle: context switches of every thread over 60 s with nothing published, the three
  consumers side by side (perf is not used: switches are the measure of wake-ups);
- CPU seconds per million messages at 1,000 messages a second, from /proc/<pid>/stat (utime
  + stime, every thread), the three side by side for 20 s: the same seconds for all;
- disk: write_bytes of /proc/<pid>/io over 300 s (one statistics report) of every detector
  reporting once a minute, firegate and Node-RED side by side; meanwhile the memory rows'
  gateways of 100 and 10,000 detectors run on a base topic of their own: VmRSS after start
  and after every detector reported 5 times;
- throughput, each consumer alone: the offered rate doubles from 1,000 messages a second,
  each level 4 s; a level counts only if the loadgen got it out (>= 97 % of the rate: the
  broker took it), the consumer had processed >= 97 % of it when it ended, everything within
  3 s after (nothing lost), and its backlog did not grow. After the first failed level, three
  bisections. What "processed" means: mosquitto_sub, bytes of its output (one per message);
  firegate, the messages received in `status` over the control socket; Node-RED, the
  messages its rule function saw (GET /bench/stats). mosquitto_sub runs first and again last,
  to bracket any change in the machine's other load. CPU per million over the best level;
  and, at the best level and the first that failed, the CPU of the building broker (one
  thread), the loadgen and the consumer as shares of a core and the machine's busy share
  (/proc/stat), over the seconds the level was offered: which of them was the limit;
- alarm latency under load: a heat detector's alarm published on the building broker to the
  alert naming it received on the platform's broker (bench/loadgen.c), with telemetry at
  1,000 messages a second and at half the mosquitto_sub ceiling around it; for firegate also
  with the building broker's set_tcp_nodelay off, and with its state on tmpfs (the disk's
  share); VmRSS of the 1,000-detector daemon at its start and after these rows, its PSS and
  private memory (/proc/<pid>/smaps_rollup), and beside it bench/rss_floor: the daemon's
  libraries loaded and set up, nothing else, the floor under its RSS.

--only ROWS (a comma list of throughput, cpu, latency, memory, disk, idle) measures only those
rows and prints only them, for firegate alone: mosquitto_sub runs only where a row's target is
its figure (cpu) or its ceiling (throughput, latency), Node-RED not at all. memory,disk,idle
takes about seven minutes (the disk window is 300 s: --disk-s). With --verbose the memory rows
also break firegate's RSS down (RssAnon, RssFile, the largest mappings in /proc/<pid>/smaps)
and the idle row gives the switches of each thread.

Usage: bench_peers.py [--dir DIR] [--firegate BIN] [--loadgen BIN] [--rss-floor BIN]
                      [--only ROWS] [--level-s S] [--idle-s S] [--disk-s S] [--alarms N]
                      [--no-node-red] [--no-nagle-row] [--no-tmpfs-row] [--no-priority]
                      [--raw DIR] [--keep] [--verbose]
--firegate names the firegate binary (default FIREGATE_BIN, else build/release/firegate: not
the one under --dir, which only says where the state goes); --loadgen the load generator
(default build/release/bench/loadgen); --rss-floor bench/rss_floor (default beside the
loadgen). Node-RED is installed with npm into DIR/node-red the first time (about 120 MB). Run
as root, the bench's session gets nice -10 (autogroup) unless --no-priority. Exits 1 when the
set-up fails; never on a target.
"""

import argparse
import datetime
import fcntl
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(os.environ.get("FIREGATE_SOURCE_DIR", Path(__file__).resolve().parents[1]))
RELEASE = ROOT / "build" / "release"
os.environ.setdefault("FIREGATE_BIN", str(RELEASE / "firegate"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import fgtest  # noqa: E402
from broker import Broker, make_client_cert  # noqa: E402

GW, NR_GW, MEM_GW = "gw-bench-01", "gw-nodered", "gw-bench-mem"
# Zigbee2MQTT's base topic; the memory rows' gateways use another, so that they can run beside
# the disk row's consumers on the same broker without either hearing the other.
Z2M, MEM_Z2M = "zigbee2mqtt", "z2m-memory"
ACL = ROOT / "examples" / "upstream-acl.conf"
FLOW = ROOT / "bench" / "node-red-flow.json"
# The newest Node-RED 4 (its engines field: node >= 18.5; Debian 12's nodejs is 18.19).
NODE_RED_VERSION = "4.1.15"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# make_building.py sizes that give at least N wireless detectors (units x 2 + 2 stairs a floor
# + the lobby + the car park's heads); the rest is cut off the end of the list.
SIZES = {100: (4, 11), 1000: (20, 24), 10000: (50, 99)}

KEEP_UP = 0.97          # share of a level processed when it ends
LEVEL_GRACE_S = 3.0     # everything processed within this after a level: nothing lost
GROWTH = 0.015          # a backlog growing by more than this share of the rate a second...
BACKLOG_S = 0.05        # ...once it holds more than this many seconds of messages
CPU_1000_S = 20         # the CPU row at 1,000 msg/s: long enough for the clock ticks
DISK_PERIOD_S = 60      # each detector's report period in the disk row
IDLE_S = 60             # the idle window
SETTLE_S = 10           # after start, before the idle window: Node.js settles for a while
DISK_S = 300            # the disk window: one statistics report (stats_interval_s' default)
ALARMS = 400            # per latency row
# What loadgen.c publishes, to the byte (linkquality varies between 2 and 3 digits).
PAYLOAD_BYTES = len('{"smoke":false,"battery":97,"battery_low":false,"tamper":false,'
                    '"linkquality":120,"temperature":24.5,"voltage":3000}')

# The table's rows, by the names --only takes.
ROWS = ("throughput", "cpu", "latency", "memory", "disk", "idle")

TARGETS = {"share": 0.90, "cpu_ratio": 1.5, "p99_low": 5.0, "p99_half": 10.0,
           "rss_mib": 8.0, "disk_mb_day": 20.0, "idle_per_s": 2.0}


def say(msg, verbose=True):
    if verbose:
        print(f"bench_peers: {msg}", file=sys.stderr, flush=True)


# ---- /proc ------------------------------------------------------------------------------------

def cpu_s(pid):
    """utime + stime of every thread of @pid, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_field(pid, name):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return int(value.split()[0])
    return 0


def rss_mib(pid):
    return status_field(pid, "VmRSS") / 1024


def memory(pid):
    """(VmRSS, its anonymous part), MiB: the rest is files mapped, mostly shared libraries."""
    return status_field(pid, "VmRSS") / 1024, status_field(pid, "RssAnon") / 1024


def smaps_rollup(pid):
    """/proc/<pid>/smaps_rollup's fields, KiB: {"Rss": .., "Pss": .., "Private_Dirty": ..}."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        if value.split():
            out[key] = int(value.split()[0])
    return out


def machine_idle():
    """(idle + iowait, steal) seconds of all CPUs together since boot, from /proc/stat. Only
    these are kept: the kernel counts idle time exactly (NO_HZ), but user and system time are
    sampled on the clock tick and miss work done between ticks. A load paced by a 1 ms timer,
    as the loadgen's, showed there as a tenth of itself; so busy time is all CPUs' time less
    these."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (f[3] + f[4]) / CLK_TCK, f[7] / CLK_TCK


def cpu_snapshot(pids):
    """For cpu_shares(): the CPU seconds of each of @pids ({name: pid}), the machine's idle and
    stolen seconds, and the time."""
    return {name: cpu_s(pid) for name, pid in pids.items()}, machine_idle(), time.monotonic()


def cpu_shares(before, after):
    """Between two cpu_snapshot()s: each process's CPU as a share of one core (1.0: a core all
    the time); "machine", the CPUs' busy time in cores (at most the number of CPUs), and of it
    "steal", the time the hypervisor gave to others."""
    (cpu0, (idle0, steal0), t0), (cpu1, (idle1, steal1), t1) = before, after
    wall, n = max(t1 - t0, 1e-9), os.cpu_count() or 1
    out = {name: (cpu1[name] - cpu0[name]) / wall for name in cpu0}
    out["machine"] = min(max(n - (idle1 - idle0) / wall, 0.0), n)
    out["steal"] = (steal1 - steal0) / wall
    return out


def write_bytes(pid):
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def switches(pid):
    """Context switches of every thread of @pid: {thread id: (its name, count)}."""
    per = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            n = sum(status_field(f"{pid}/task/{task.name}", k)
                    for k in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"))
        except OSError:
            continue
        per[int(task.name)] = (name, n)
    return per


def by_name(threads):
    """{thread id: (name, count)} summed by thread name."""
    out = {}
    for name, n in threads.values():
        out[name] = out.get(name, 0) + n
    return out


def smaps(pid, top=10):
    """The @top mappings of @pid by Rss, summed by what they map (a file's path, or [heap],
    [stack], [anon] for anonymous memory with no name): [(what, Rss KiB, Pss KiB, mappings)]."""
    per, what = {}, None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(None, 5)
        if not head:
            continue
        if "-" in head[0] and not head[0].endswith(":"):  # "start-end perms offset dev inode path"
            what = head[5].strip() if len(head) > 5 else "[anon]"
            per.setdefault(what, [0, 0, 0])[2] += 1
        elif head[0] in ("Rss:", "Pss:") and what:
            per[what][head[0] == "Pss:"] += int(head[1])
    ranked = sorted(per.items(), key=lambda kv: -kv[1][0])[:top]
    return [(what, rss, pss, n) for what, (rss, pss, n) in ranked]


def rss_breakdown(pid, who, verbose):
    """Says (verbose) what @pid's resident memory is: VmRSS split into RssAnon, RssFile and
    RssShmem (/proc/<pid>/status), and the largest mappings (smaps): which library costs what."""
    if not verbose:
        return
    kib = {k: status_field(pid, k) for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem")}
    lines = [f"{who}: VmRSS {kib['VmRSS']} KiB = RssAnon {kib['RssAnon']} + RssFile "
             f"{kib['RssFile']} + RssShmem {kib['RssShmem']} KiB; the largest mappings by Rss "
             f"(KiB; Pss, the share of pages shared with other processes; how many mappings):"]
    lines += [f"  {rss:6} KiB (Pss {pss:6})  {what} ({n})" for what, rss, pss, n in smaps(pid)]
    say("\n".join(lines), verbose)


def machine():
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith(("model name", "Model", "Hardware")):
            model = line.split(":", 1)[1].strip()
            break
    return (f"{os.cpu_count()} CPUs, {model}; Linux {platform.release()} "
            f"{platform.machine()}")


# ---- brokers, buildings, gateways -------------------------------------------------------------

def start_broker(nodelay, **kwargs):
    """A Broker (tests/support/broker.py) with the settings the bench needs added to its file."""
    b = Broker(**kwargs)
    b.stop()
    with b.conf.open("a") as f:
        f.write(f"set_tcp_nodelay {'true' if nodelay else 'false'}\nsys_interval 1\n")
    b.start()
    return b


def building_bundle(gw, n):
    """A signed bundle of exactly @n wireless detectors, all heard through Zigbee2MQTT."""
    floors, units = SIZES[n]
    raw = gw.bundle(name=f"raw-{n}.json", sign=False, floors=floors, units_per_floor=units)
    bundle = json.loads(raw.read_text())
    dets = [d for d in bundle["detectors"] if d["source"]["type"] == "mqtt"]
    if len(dets) < n:
        raise RuntimeError(f"make_building gave {len(dets)} wireless detectors, want {n}")
    for d in dets:
        d["source"] = {"type": "mqtt", "bridge": "zigbee2mqtt", "device": d["source"]["device"]}
    bundle["detectors"] = dets[:n]
    unsigned = gw.dir / f"unsigned-{n}.json"
    unsigned.write_text(json.dumps(bundle, ensure_ascii=False))
    out = gw.dir / f"building-{n}.json"
    fgtest.run(fgtest.FG_SIGN, "sign", "--key", gw.key, unsigned, out, check=0)
    return out


def make_gateway(building, upstream, n, gw_id=GW, base=Z2M, root=None):
    """A gateway state directory (under @root, default the temporary directory) with a building
    of @n detectors, Zigbee2MQTT's base topic @base and an uplink; returns it and the detectors
    (device, id, kind, in a unit)."""
    saved = tempfile.tempdir
    tempfile.tempdir = str(root) if root else saved
    try:
        gw = fgtest.Gateway(extra_config=f"id = {gw_id}\n", broker_port=building.port)
    finally:
        tempfile.tempdir = saved
    cert, key = make_client_cert(gw.dir, upstream.dir, gw_id)
    with gw.config.open("a") as f:
        f.write(f"[bridges]\nzigbee2mqtt_base = {base}\n[rules]\ndir = {ROOT / 'rules'}\n"
                f"[uplink]\nuris = ssl://127.0.0.1:{upstream.port}\ninsecure = no\n"
                f"cafile = {upstream.cafile}\ncertfile = {cert}\nkeyfile = {key}\n")
    gw.base = base
    gw.firegate("import", building_bundle(gw, n), check=0, timeout=600)
    dets = []
    for d in gw.json("detectors"):
        bridge, _, device = d["address"].partition(":")
        if bridge == "zigbee2mqtt":
            dets.append((device, d["detector_id"], d["kind"], bool(d["unit"])))
    return gw, dets


def write_devices(path, dets, base=Z2M):
    """The loadgen's device list: topic, the id alerts name, kind."""
    path.write_text("".join(f"{base}/{dev}\t{did}\t{kind}\n" for dev, did, kind, _ in dets))
    return path


# ---- the load generator -----------------------------------------------------------------------

class LoadGen:
    def __init__(self, binary, building, devices, upstream=None, platform_cert=None,
                 control=None, raw=None):
        argv = [binary, "--port", str(building.port), "--devices", str(devices)]
        if upstream:
            argv += ["--upstream-port", str(upstream.port), "--cafile", str(upstream.cafile),
                     "--cert", str(platform_cert[0]), "--key", str(platform_cert[1]),
                     "--alert-topic", "firegate/v1/+/alert"]
        if control:
            argv += ["--control", str(control)]
        if raw:
            argv += ["--raw", str(raw)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"loadgen did not start: {line!r}")

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer or answer.startswith("error"):
            raise RuntimeError(f"loadgen: {line}: {answer or 'no answer'}")
        return answer

    def rate(self, r):
        self.ask(f"rate {r}")

    def sent(self):
        return int(self.ask("count").split()[1])

    def dropped(self):
        return int(self.ask("count").split()[3])

    def latency(self, n, gap_ms, reset_every):
        f = self.ask(f"latency {n} {gap_ms} {reset_every}").split()[1:]
        return {"ok": int(f[0]), "lost": int(f[1]), "p50": float(f[2]), "p99": float(f[3]),
                "max": float(f[4]), "mean": float(f[5]), "strays": int(f[6])}

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# ---- the consumers ----------------------------------------------------------------------------

def stop_process(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def publish_probe(building, base):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(building.port), "-q", "1",
                    "-t", f"{base}/bench-probe", "-m", "{}"], check=True, timeout=10)


def wait_heard(consumer, building, timeout=30):
    """Publishes probes until the consumer counts one: it is subscribed."""
    before = consumer.processed()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        publish_probe(building, getattr(consumer, "base", Z2M))
        t = time.monotonic() + 1
        while time.monotonic() < t:
            if consumer.processed() > before:
                time.sleep(0.3)  # the rest of the probes
                return
            time.sleep(0.05)
    raise RuntimeError(f"{consumer.name} never heard the building broker")


class MosquittoSub:
    name = "mosquitto_sub"

    def __init__(self, building, workdir):
        self.out = workdir / "mosquitto_sub.out"
        # One byte a message; a 64-byte stdio buffer keeps the count within 64 of the truth.
        self.file = self.out.open("wb")
        self.proc = subprocess.Popen(
            ["stdbuf", "-o64", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(building.port),
             "-q", "1", "-t", "zigbee2mqtt/#", "-N", "-F", "x"], stdout=self.file)
        wait_heard(self, building)

    def processed(self):
        return self.out.stat().st_size

    def pid(self):
        return self.proc.pid

    def stop(self):
        stop_process(self.proc)
        self.file.close()


class Firegate:
    name = "firegate"

    def __init__(self, gw, building, log):
        self.gw = gw
        self.base = gw.base
        self.log = log
        self.err = log.open("w")
        self.proc = subprocess.Popen([fgtest.BIN, "--config", str(gw.config), "run"],
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        self.sock = str(gw.run_dir / "control.sock")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = self.status(quiet=True)
            if st and st["building_broker"]["connected"] and st["uplink"]["connected"]:
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the daemon did not connect to both brokers")
        if self.proc.poll() is not None:
            raise RuntimeError(f"the daemon stopped:\n{log.read_text(errors='replace')[-3000:]}")
        wait_heard(self, building)

    def status(self, quiet=False):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(self.sock)
                s.sendall(b"status summary\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            if quiet:
                return None
            raise
        head, _, body = data.decode().partition("\n")
        if not head.startswith("ok"):
            raise RuntimeError(f"status: {head}")
        return json.loads(body)

    def processed(self):
        return self.status()["messages"]["received"]

    def pid(self):
        return self.proc.pid

    def stop(self):
        stop_process(self.proc)
        self.err.close()


class NodeRed:
    name = "Node-RED"

    def __init__(self, cache, building, upstream, cert, dets, workdir):
        self.dir = workdir / "node-red-user"
        self.dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(FLOW, self.dir / "flows.json")
        detectors = {dev: {"id": did, "kind": kind, "unit": unit}
                     for dev, did, kind, unit in dets}
        (self.dir / "detectors.json").write_text(json.dumps(detectors))
        self.port = fgtest.free_port()
        (self.dir / "settings.js").write_text(f"""// Headless: no editor, no admin API; the flow's
// own HTTP endpoint only.
module.exports = {{
    uiHost: "127.0.0.1",
    uiPort: {self.port},
    httpAdminRoot: false,
    httpNodeRoot: "/",
    userDir: {json.dumps(str(self.dir))},
    flowFile: "flows.json",
    flowFilePretty: true,
    credentialSecret: false,
    contextStorage: {{ default: {{ module: "memory" }} }},
    functionGlobalContext: {{
        benchDetectors: require({json.dumps(str(self.dir / "detectors.json"))}),
        benchStats: {{ processed: 0, seq: 0, devices: {{}} }},
    }},
    externalModules: {{ autoInstall: false, palette: {{ allowInstall: false }} }},
    diagnostics: {{ enabled: false }},
    runtimeState: {{ enabled: false }},
    telemetry: {{ enabled: false, updateNotification: false }},
    logging: {{ console: {{ level: "info", metrics: false, audit: false }} }},
}};
""")
        env = dict(os.environ, FG_BENCH_BUILDING_PORT=str(building.port),
                   FG_BENCH_UPSTREAM_PORT=str(upstream.port), FG_BENCH_CA=str(upstream.cafile),
                   FG_BENCH_CERT=str(cert[0]), FG_BENCH_KEY=str(cert[1]),
                   NODE_RED_ENABLE_PROJECTS="false")
        self.log = workdir / "node-red.log"
        self.logf = self.log.open("w")
        red = cache / "node_modules" / "node-red" / "red.js"
        self.proc = subprocess.Popen(
            [shutil.which("node") or "node", str(red), "--settings",
             str(self.dir / "settings.js"), "--userDir", str(self.dir), "flows.json"],
            stdout=self.logf, stderr=subprocess.STDOUT, env=env, cwd=self.dir)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if text.count("Connected to broker") >= 2 and "Started flows" in text:
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"Node-RED stopped:\n{text[-3000:]}")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"Node-RED did not connect to both brokers:\n"
                               f"{self.log.read_text(errors='replace')[-3000:]}")
        wait_heard(self, building)

    def processed(self):
        url = f"http://127.0.0.1:{self.port}/bench/stats"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())["processed"]

    def pid(self):
        return self.proc.pid

    def stop(self):
        stop_process(self.proc)
        self.logf.close()


def prepare_node_red(cache):
    """Installs Node-RED NODE_RED_VERSION into @cache with npm, once (scripts/browser's way)."""
    cache.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        manifest = cache / "node_modules" / "node-red" / "package.json"
        try:
            if json.loads(manifest.read_text()).get("version") == NODE_RED_VERSION:
                return
        except (OSError, ValueError):
            pass
        npm = shutil.which("npm")
        if not npm or not shutil.which("node"):
            raise RuntimeError("node and npm are needed for Node-RED (package nodejs)")
        say(f"installing node-red {NODE_RED_VERSION} into {cache} with npm")
        done = subprocess.run([npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund",
                               "--no-update-notifier", "--omit=dev",
                               f"node-red@{NODE_RED_VERSION}"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"npm install failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    finally:
        os.close(fd)


# ---- throughput -------------------------------------------------------------------------------

def sample(lg, consumer):
    """(sent, processed) read together: the sent count halfway through reading processed."""
    s0 = lg.sent()
    p = consumer.processed()
    s1 = lg.sent()
    return (s0 + s1) / 2, p


def slope(points):
    """Least-squares slope of (t, y) points; 0 for fewer than two."""
    if len(points) < 2:
        return 0.0
    mt = statistics.mean(t for t, _ in points)
    my = statistics.mean(y for _, y in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (y - my) for t, y in points) / den if den else 0.0


def run_level(lg, consumer, rate, seconds, verbose, broker_pid):
    """Offers @rate for @seconds and judges whether @consumer kept up (module docstring). While
    the rate is offered, the CPU of the building broker (@broker_pid), the loadgen and the
    consumer is taken as a share of one core, and the machine's."""
    s0, p0 = lg.sent(), consumer.processed()
    pid = consumer.pid()
    cpu0 = cpu_s(pid)
    pids = {"broker": broker_pid, "loadgen": lg.proc.pid, consumer.name: pid}
    shares0 = cpu_snapshot(pids)
    t0 = time.monotonic()
    lg.rate(rate)
    backlog = []
    for i in range(1, int(seconds) + 1):
        time.sleep(max(0.0, t0 + i - time.monotonic()))
        s, p = sample(lg, consumer)
        backlog.append((time.monotonic() - t0, s - s0 - (p - p0)))
    lg.rate(0)
    t1 = time.monotonic()
    shares = cpu_shares(shares0, cpu_snapshot(pids))
    sent = lg.sent() - s0
    at_end = consumer.processed() - p0
    deadline = t1 + LEVEL_GRACE_S
    while consumer.processed() - p0 < sent and time.monotonic() < deadline:
        time.sleep(0.02)
    done = consumer.processed() - p0
    cpu = cpu_s(pid) - cpu0
    growth = slope([b for b in backlog if b[0] >= 0.99])
    offered = sent / (t1 - t0) if t1 > t0 else 0
    level = {"rate": rate, "sent": sent, "offered": offered, "at_end": at_end, "done": done,
             "cpu": cpu, "growth": growth, "shares": shares, "why": []}
    if offered < KEEP_UP * rate:
        level["why"].append(f"only {offered:.0f}/s got out (the broker did not take more)")
    if sent and at_end < KEEP_UP * sent:
        level["why"].append(f"{at_end / sent:.1%} processed when the level ended")
    if done < sent:
        level["why"].append(f"{sent - done} not processed {LEVEL_GRACE_S:.0f} s later")
    if growth > GROWTH * rate and backlog and backlog[-1][1] > BACKLOG_S * rate:
        level["why"].append(f"backlog growing by {growth:.0f}/s")
    level["ok"] = not level["why"]
    say(f"{consumer.name}: {rate}/s: {sent} sent ({offered:.0f}/s), "
        f"{at_end / max(sent, 1):.1%} at the end, {done / max(sent, 1):.1%} after; "
        f"CPU {cpu:.2f} s; {fmt_shares(shares, consumer.name)}; "
        f"load average {os.getloadavg()[0]:.2f}: "
        + ("ok" if level["ok"] else "; ".join(level["why"])), verbose)
    # Start the next level from an empty backlog.
    deadline = time.monotonic() + 10
    while consumer.processed() - p0 < sent and time.monotonic() < deadline:
        time.sleep(0.1)
    return level


def fmt_shares(shares, consumer):
    """What cpu_shares() found, in per cent of one core: the broker, the loadgen, @consumer and
    the machine (of all its CPUs)."""
    def pct(x):
        return f"{x * 100:.0f} %"

    steal = f" ({pct(shares['steal'])} stolen)" if shares["steal"] >= 0.01 else ""
    return (f"broker {pct(shares['broker'])}, loadgen {pct(shares['loadgen'])}, {consumer} "
            f"{pct(shares[consumer])}, machine {pct(shares['machine'])} of "
            f"{pct(os.cpu_count() or 1)}{steal}")


def cpu_per_million(level):
    return level["cpu"] / level["done"] * 1e6 if level["done"] else float("nan")


def throughput(lg, consumer, seconds, verbose, broker_pid, max_rate=262144):
    """The ladder from 1,000/s, the building broker being @broker_pid; returns (levels, the
    best level or None)."""
    levels, rate, best, failed = [], 1000, None, None
    while rate <= max_rate:
        lv = run_level(lg, consumer, rate, seconds, verbose, broker_pid)
        levels.append(lv)
        if not lv["ok"]:
            failed = rate
            break
        best = lv
        rate *= 2
    lo = best["rate"] if best else 0
    for _ in range(3 if failed else 0):
        mid = int(round((lo + failed) / 2 / 500) * 500)
        if mid <= lo or mid >= failed:
            break
        lv = run_level(lg, consumer, mid, seconds, verbose, broker_pid)
        levels.append(lv)
        if lv["ok"]:
            lo, best = mid, lv
        else:
            failed = mid
    return levels, best


def side_by_side(lg, consumers, rate, seconds):
    """CPU seconds per million messages of each consumer, all subscribed at once to @seconds
    of @rate: the same seconds for all, so the machine's other load falls on all alike."""
    before = {c.name: (cpu_s(c.pid()), c.processed()) for c in consumers}
    s0 = lg.sent()
    lg.rate(rate)
    time.sleep(seconds)
    lg.rate(0)
    sent = lg.sent() - s0
    deadline = time.monotonic() + LEVEL_GRACE_S
    while (time.monotonic() < deadline
           and any(c.processed() - before[c.name][1] < sent for c in consumers)):
        time.sleep(0.05)
    out = {}
    for c in consumers:
        cpu, done = cpu_s(c.pid()) - before[c.name][0], c.processed() - before[c.name][1]
        out[c.name] = {"cpu": cpu, "done": done, "sent": sent,
                       "per_million": cpu / done * 1e6 if done else float("nan")}
    return out


# ---- the other rows ---------------------------------------------------------------------------

def idle(pids, seconds):
    """Context switches of every thread of each pid over @seconds, nothing published: {name:
    (total, {thread id: (thread name, count)})}."""
    before = {name: switches(pid) for name, pid in pids.items()}
    time.sleep(seconds)
    out = {}
    for name, pid in pids.items():
        after = switches(pid)
        per = {tid: (t, n - before[name].get(tid, (t, 0))[1]) for tid, (t, n) in after.items()}
        out[name] = (sum(n for _, n in per.values()), per)
    return out


def disk(lg, pids, n_detectors, seconds):
    """write_bytes of each pid over @seconds of every detector reporting once a period."""
    before = {name: write_bytes(pid) for name, pid in pids.items()}
    lg.rate(n_detectors / DISK_PERIOD_S)
    time.sleep(seconds)
    lg.rate(0)
    return {name: write_bytes(pid) - before[name] for name, pid in pids.items()}


def report_all(lg, consumer, n, rate=5000):
    """Every one of @n detectors reports 5 times (for 2 s at least) at @rate messages a second;
    then up to 30 s for @consumer to process it all. Returns (sent, processed as it stopped)."""
    s0, p0 = lg.sent(), consumer.processed()
    lg.rate(rate)
    time.sleep(max(2.0, 5 * n / rate))
    lg.rate(0)
    sent = lg.sent() - s0
    deadline = time.monotonic() + 30
    base = consumer.processed() - p0
    while consumer.processed() - p0 < sent and time.monotonic() < deadline:
        time.sleep(0.1)
    return sent, base


def rss_floor(binary, directory):
    """What bench/rss_floor reports, KiB (Threads a count): {"VmRSS", "RssAnon", "RssFile",
    "Pss", "Threads"}: the daemon's libraries loaded and set up, nothing else."""
    done = subprocess.run([binary, str(directory)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{binary} failed: {done.stderr.strip()}")
    f = done.stdout.split()
    return {f[i]: int(f[i + 1]) for i in range(0, len(f) - 1, 2)}


def memory_run(args, building, upstream, n, workdir, verbose):
    """firegate with a building of @n detectors: RSS at start, and after every detector
    reported 5 times at 5,000 messages a second."""
    gw, dets = make_gateway(building, upstream, n, gw_id=MEM_GW, base=MEM_Z2M)
    fg = lg = None
    try:
        fg = Firegate(gw, building, workdir / f"firegate-{n}.log")
        time.sleep(1)
        start = rss_mib(fg.pid())
        lg = LoadGen(args.loadgen, building,
                     write_devices(workdir / f"devices-{n}.tsv", dets, MEM_Z2M))
        sent, base = report_all(lg, fg, n)
        after, anon = memory(fg.pid())
        say(f"firegate, {n} detectors: RSS {start:.1f} MiB at start, {after:.1f} MiB "
            f"({anon:.1f} anonymous) after {sent} messages (received {base})", verbose)
        rss_breakdown(fg.pid(), f"firegate, {n:,} detectors, after the run", verbose)
        return start, after, anon
    finally:
        if lg:
            lg.close()
        if fg:
            fg.stop()
        if not args.keep:
            gw.cleanup()


# ---- the table --------------------------------------------------------------------------------

def mark(ok):
    return "✓" if ok else "✗"


def fmt_rate(level):
    return f"{level['rate']:,}" if level else "none"


def fmt_latency(x):
    if not x:
        return "–"
    lost = f", {x['lost']} lost" if x["lost"] else ""
    return f"{x['p50']:.2f} / {x['p99']:.2f} / {x['max']:.1f}{lost}"


def levels_text(c):
    return ", ".join(f"{lv['rate']:,} {mark(lv['ok'])}" for lv in c["levels"])


def table(r, args):
    """The markdown table and its notes: every row, or those of --only."""
    want = args.only or set(ROWS)
    sub, fg, nr = (r["consumers"].get(k) for k in ("mosquitto_sub", "firegate", "Node-RED"))
    sub_last, ceiling, nan = r.get("sub_again"), r.get("ceiling", 0), float("nan")
    rows = []

    def row(label, c_sub, c_fg, c_nr, target, ok):
        rows.append(f"| {label} | {c_sub} | {c_fg} | {c_nr} | {target} | "
                    f"{'' if ok is None else mark(ok)} |")

    def each(fn, default="–"):
        return [fn(c) if c else default for c in (sub, fg, nr)]

    if "throughput" in want:
        share = fg["best"]["rate"] / ceiling if fg and fg["best"] and ceiling else 0.0
        rates = each(lambda c: fmt_rate(c["best"]))
        if sub_last:
            rates[0] += f" / {fmt_rate(sub_last['best'])}"
        row("highest sustained rate, msg/s"
            + (" (mosquitto_sub: first / last run)" if sub_last else ""), *rates, "", None)
        row("share of the mosquitto_sub ceiling", "100 %", f"{share:.0%}",
            f"{nr['best']['rate'] / ceiling:.0%}" if nr and nr["best"] and ceiling else "–",
            "≥ 90 %", share >= TARGETS["share"])
    if "cpu" in want:
        low = r["cpu_1000"]
        cpm = {k: v["per_million"] for k, v in low.items()}
        limit = TARGETS["cpu_ratio"] * cpm.get("mosquitto_sub", nan)
        row("CPU s per million messages at 1,000 msg/s (side by side, the same seconds)",
            *[f"{cpm[k]:.1f}" if k in cpm else "–"
              for k in ("mosquitto_sub", "firegate", "Node-RED")],
            f"≤ 1.5 × mosquitto_sub = {limit:.1f}", cpm.get("firegate", nan) <= limit)
    if "throughput" in want:
        top = each(lambda c: cpu_per_million(c["best"]) if c["best"] else nan, nan)
        limit = TARGETS["cpu_ratio"] * top[0]
        row("CPU s per million messages at the highest sustained rate (each alone)",
            *[f"{x:.1f}" for x in top], f"≤ 1.5 × mosquitto_sub = {limit:.1f}", top[1] <= limit)
    if "latency" in want:
        latency_rows(r, fg, nr, row)
    if "memory" in want:
        def rss(x):
            return f"{x[0]:.1f} → {x[1]:.1f} ({x[2]:.1f})"
        for n, m in sorted(r["memory"].items()):
            if n == 1000:
                c_sub = rss(r["rss"]["mosquitto_sub"]) if "mosquitto_sub" in r["rss"] else "–"
                c_nr = rss(r["rss"]["Node-RED"]) if "Node-RED" in r["rss"] else "–"
            else:
                c_sub = c_nr = "–"
            row(f"RSS, MiB, at start → after the run (anonymous), {n:,} detectors", c_sub,
                rss(m), c_nr, "≤ 8 MiB" if n == 1000 else "",
                max(m[:2]) <= TARGETS["rss_mib"] if n == 1000 else None)
            if n == 1000 and "smaps_1000" in r:
                x = r["smaps_1000"]
                row("the same after the run: PSS / private (Private_Clean + Private_Dirty), MiB",
                    "–", f"{x['Pss'] / 1024:.1f} / "
                    f"{(x['Private_Clean'] + x['Private_Dirty']) / 1024:.1f}", "–", "", None)
            if n == 1000 and "floor" in r:
                f = r["floor"]
                row("its libraries loaded and initialised, nothing else (bench/rss_floor): RSS "
                    "(anonymous, PSS), MiB", "–", f"{f['VmRSS'] / 1024:.1f} "
                    f"({f['RssAnon'] / 1024:.1f}, PSS {f['Pss'] / 1024:.1f})", "–",
                    "(the floor under the target)", None)
    if "disk" in want:
        per_hour = {k: v * 3600 / args.disk_s for k, v in r["disk"].items()}

        def disk_cell(name):
            if name not in per_hour:
                return "–"
            return f"{per_hour[name] / 1e6:.2f} MB / {per_hour[name] * 24 / 1e6:.1f} MB"
        fg_day = per_hour.get("firegate", nan) * 24 / 1e6
        row("disk written per hour / per day (1,000 detectors, each once a minute)", "–",
            disk_cell("firegate"), disk_cell("Node-RED"), "≤ 20 MB a day",
            fg_day <= TARGETS["disk_mb_day"])
    if "idle" in want:
        idle_per_min = {k: x[0] * 60 / args.idle_s for k, x in r["idle"].items()}
        row("wake-ups per minute when idle (context switches, all threads)",
            *[f"{idle_per_min[k]:.0f}" if k in idle_per_min else "–"
              for k in ("mosquitto_sub", "firegate", "Node-RED")],
            "≤ 120 (2 a second)", idle_per_min.get("firegate", nan) <= 60 * TARGETS["idle_per_s"])

    only = (f" Only the rows {', '.join(x for x in ROWS if x in want)} (--only): firegate "
            f"alone, with mosquitto_sub only where a target is its figure or its ceiling."
            if args.only else "")
    out = [f"\nfiregate against its peers, {r['date']}. Machine: {r['machine']}; load average "
           f"{r['load']:.2f} before the run and {r['load_after']:.2f} after{r['priority']}.",
           f"Building broker: Mosquitto {r['mosquitto']} on loopback, set_tcp_nodelay on (off "
           f"for one row, as said); platform broker: Mosquitto with TLS and client "
           f"certificates. Node-RED {r['node_red'] or 'not run'}"
           + (f" on Node.js {r['node']}." if r["node_red"] else ".") + only,
           "",
           "| | mosquitto_sub | firegate | Node-RED | target | met |",
           "|---|---:|---:|---:|---|:-:|"] + rows
    return "\n".join(out + [""] + [f"- {n}" for n in notes(r, args, want)])


def latency_rows(r, fg, nr, row):
    for key, label, target in (("low", "1,000 msg/s", TARGETS["p99_low"]),
                               ("half", f"{r['half']:,} msg/s (half the ceiling)",
                                TARGETS["p99_half"])):
        f = fg["latency"].get(key) if fg else None
        n = nr["latency"].get(key) if nr else None
        row(f"alarm latency p50 / p99 / max, ms, at {label}", "–", fmt_latency(f),
            fmt_latency(n), f"p99 ≤ {target:.0f} ms",
            bool(f) and f["lost"] == 0 and f["p99"] <= target)
    for key, label in (("tmpfs_low", "1,000 msg/s"), ("tmpfs_half", f"{r['half']:,} msg/s")):
        x = fg["latency"].get(key) if fg else None
        if x:
            row(f"the same at {label}, firegate's state on tmpfs (no disk in the path)", "–",
                fmt_latency(x), "–", "(the disk's share)", None)
    x = fg["latency"].get("nagle") if fg else None
    if x:
        row(f"the same at {r['half']:,} msg/s, the building broker's set_tcp_nodelay off", "–",
            fmt_latency(x), "–", "(the setting's effect)", None)


def floor_note(r):
    """The memory floor (bench/rss_floor) against the 1,000-detector daemon."""
    f, (_, after, anon), x = r["floor"], r["memory"][1000], r["smaps_1000"]
    mib = {k: v / 1024 for k, v in f.items()}
    threads = f"{f['Threads']} thread{'' if f['Threads'] == 1 else 's'}"
    private = (x["Private_Clean"] + x["Private_Dirty"]) / 1024
    return (f"The floor: bench/rss_floor links the daemon's libraries (firegate_core's list: "
            f"SQLite, libcrypto and libssl, jansson, inih, libsystemd, libsodium, libmosquitto, "
            f"libgpiod, Paho) and sets each up once as the daemon does (a WAL store with a table "
            f"and a query, SHA-256 and an Ed25519 verify, an SSL_CTX, a mosquitto client, a Paho "
            f"client for ssl:// not connected, an sd-event loop with a timer, a JSON document, "
            f"an INI string, sodium_init), run while the daemon above was still up: the same "
            f"libraries loaded and initialised, nothing else: {mib['VmRSS']:.1f} MiB RSS "
            f"({mib['RssAnon']:.1f} anonymous, {mib['Pss']:.1f} PSS; {mib['RssFile']:.1f} files "
            f"mapped; {threads}). firegate with 1,000 detectors is {after - mib['VmRSS']:.1f} MiB "
            f"of RSS above it, {anon - mib['RssAnon']:.1f} of them anonymous. PSS "
            f"(smaps_rollup) counts a page shared by k processes as 1/k: the brokers, the loadgen "
            f"and the daemon map the same libraries, so it depends on what runs beside; private "
            f"(Private_Clean + Private_Dirty, {private:.1f} MiB for the daemon) is what the "
            f"process alone holds.")


def cpu_note(label, c):
    """Where the CPU went at @c's highest sustained level and at its first failed one."""
    name = label.removesuffix(" again")
    best, failed = c["best"], next((lv for lv in c["levels"] if not lv["ok"]), None)
    parts = [f"at {best['rate']:,} msg/s (its highest sustained): "
             f"{fmt_shares(best['shares'], name)}" if best else "no level sustained"]
    if failed:
        parts.append(f"at {failed['rate']:,} msg/s (the first level that failed): "
                     f"{fmt_shares(failed['shares'], name)}")
    return f"{label}: " + "; ".join(parts) + "."


def notes(r, args, want):
    """The notes under the table, those of its rows."""
    sub, fg, nr = (r["consumers"].get(k) for k in ("mosquitto_sub", "firegate", "Node-RED"))
    sub_last, ceiling = r.get("sub_again"), r.get("ceiling", 0)
    dropped = [(k, c["dropped"]) for k, c in
               list(r["consumers"].items()) + [("mosquitto_sub again", sub_last or {})]
               if "dropped" in c]
    fsyncs = "; ".join(f"{k.replace('_', ' ')} {x['fsync'][0]:.2f} / {x['fsync'][1]:.2f}"
                       for k, x in (fg["latency"].items() if fg else []))
    out = []
    if "throughput" in want:
        out += [
            f"Throughput: telemetry of {r['n']:,} Zigbee2MQTT detectors in turn at QoS 0, "
            f"{r['payload']} bytes a payload; levels of {args.level_s} s doubling from 1,000/s, "
            f"then three bisections. A level counts when the broker took it, ≥ 97 % was "
            f"processed as it ended, all of it within {LEVEL_GRACE_S:.0f} s, and the backlog did "
            f"not grow. "
            + (f"mosquitto_sub ran first and last; the ceiling is the better of its two runs "
               f"({ceiling:,}/s), half the ceiling for the latency rows is from its first run. "
               if sub_last else f"mosquitto_sub ran first; its ceiling {ceiling:,}/s. ")
            + "Messages the broker dropped for a consumer too far behind (QoS 0): "
            + ", ".join(f"{k} {n}" for k, n in dropped) + ".",
            f"Levels (msg/s): mosquitto_sub {levels_text(sub)}"
            + (f"; firegate {levels_text(fg)}" if fg else "")
            + (f"; Node-RED {levels_text(nr)}" if nr else "")
            + (f"; mosquitto_sub again {levels_text(sub_last)}" if sub_last else "") + ".",
            f"Where the CPU went in the throughput runs: utime + stime of every thread of each "
            f"process over the seconds a level was offered (/proc/<pid>/stat), as a share of one "
            f"core. The broker is the building broker's mosquitto, one thread: 100 % is its "
            f"limit. The machine is the busy time of all {os.cpu_count()} CPUs over the same "
            f"seconds, {os.cpu_count() or 1}00 % when they are all busy: their time less idle "
            f"and iowait in /proc/stat (its user and system columns are sampled on the clock "
            f"tick and miss most of a load paced by a 1 ms timer); everything else running is "
            f"in it, and the hypervisor's steal, said when 1 % or more."]
        out += [cpu_note(name, c) for name, c in
                list(r["consumers"].items()) + [("mosquitto_sub again", sub_last or {})]
                if c.get("levels")]
    if want & {"cpu", "throughput"}:
        out.append(
            "CPU: utime + stime of every thread from /proc/<pid>/stat, per million messages "
            + (f"processed. At 1,000 msg/s the three consumers were subscribed together for "
               f"{CPU_1000_S} s, so the machine's other work fell on all three alike (alone, one "
               f"after the other, the figures moved by ±40 % between runs); at the highest rate "
               f"each was alone, over its best level and the drain after it."
               if not args.only else
               f"processed. At 1,000 msg/s firegate and mosquitto_sub were subscribed together "
               f"for {CPU_1000_S} s; at the highest rate each was alone, over its best level and "
               f"the drain after it."))
    if "latency" in want:
        out.append(
            f"Alarm latency: {args.alarms} alarms a row, one heat detector at a time (QoS 1; its "
            f"telemetry says smoke:true until it is cleared), 20-40 ms apart, on the telemetry's "
            f"connection; received as the platform's account. firegate commits the decision and "
            f"its alert (synchronous=FULL) before Paho sends it; the building is reset every 50 "
            f"alarms. Node-RED commits nothing (its alert leaves from memory) and needs no "
            f"reset. fsync in firegate's state directory (4 KiB + fdatasync, 200 times) just "
            f"before each row, p50 / p99 ms: {fsyncs}.")
    if "memory" in want:
        ran = " and ".join(x for x in ("throughput", "latency") if x in want)
        out.append(
            f"Memory: VmRSS once connected, and after the {ran} rows (1,000 detectors) or after "
            f"every detector reported 5 times at 5,000 msg/s (100, 10,000); in brackets its "
            f"anonymous part (RssAnon) after the run, the rest being files mapped, mostly shared "
            f"libraries' code."
            if ran else
            "Memory: VmRSS once connected, and after every detector reported 5 times at 5,000 "
            "msg/s (no throughput or latency rows ran); in brackets its anonymous part (RssAnon) "
            "after the run, the rest being files mapped, mostly shared libraries' code.")
        if "floor" in r and 1000 in r["memory"]:
            out.append(floor_note(r))
    if "disk" in want:
        out.append(
            f"Disk: write_bytes from /proc/<pid>/io over {args.disk_s} s of telemetry (every "
            f"detector once a minute, {r['n'] / DISK_PERIOD_S:.1f} msg/s), scaled to an hour and "
            f"a day. The window holds {args.disk_s // 300} statistics report(s) (every 300 s by "
            f"default: sent straight while the uplink is up, stored only while it is down) and any "
            f"WAL checkpoint (30 s after a commit); the daemon's log goes to a file here, to "
            f"journald in production.")
    if "idle" in want:
        out.append(
            f"Idle: {args.idle_s} s with nothing published; perf is not used, the measure is the "
            f"context switches of every thread (/proc/<pid>/task/*/status). firegate by thread: "
            + ", ".join(f"{t} {n}" for t, n in
                        sorted(by_name(r["idle"].get("firegate", (0, {}))[1]).items()))
            + ".")
    return out


def rows_list(text):
    """--only's comma list of row names, as a set."""
    rows = {x.strip() for x in text.split(",") if x.strip()}
    unknown = rows - set(ROWS)
    if unknown or not rows:
        raise argparse.ArgumentTypeError(f"rows are {', '.join(ROWS)}; not "
                                         f"{', '.join(sorted(unknown)) or 'none'}")
    return rows


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default=str(RELEASE),
                   help="where the state goes (not which firegate: --firegate)")
    p.add_argument("--firegate", default=fgtest.BIN,
                   help="the firegate binary (default FIREGATE_BIN, else build/release/firegate)")
    p.add_argument("--loadgen", default=str(RELEASE / "bench" / "loadgen"))
    p.add_argument("--rss-floor", help="bench/rss_floor, for the memory row (default: beside "
                                       "the loadgen)")
    p.add_argument("--only", type=rows_list, metavar="ROWS",
                   help=f"a comma list of rows ({','.join(ROWS)}; throughput brings the CPU at "
                        f"the highest rate) to measure, for firegate alone: mosquitto_sub only "
                        f"where a target is its figure (cpu) or ceiling (throughput, latency), "
                        f"no Node-RED; the table has only those rows")
    p.add_argument("--level-s", type=int, default=4, help="seconds per throughput level")
    p.add_argument("--idle-s", type=int, default=IDLE_S, help="seconds of the idle window")
    p.add_argument("--disk-s", type=int, default=DISK_S, help="seconds of the disk window")
    p.add_argument("--alarms", type=int, default=ALARMS, help="alarms per latency row")
    p.add_argument("--no-node-red", action="store_true", help="leave Node-RED out")
    p.add_argument("--no-nagle-row", action="store_true",
                   help="skip the latency row with set_tcp_nodelay off")
    p.add_argument("--no-tmpfs-row", action="store_true",
                   help="skip the latency rows with firegate's state on tmpfs")
    p.add_argument("--no-priority", action="store_true",
                   help="leave the bench's scheduling priority as it is")
    p.add_argument("--raw", help="a directory for every alarm's latency")
    p.add_argument("--keep", action="store_true", help="keep the state, logs and configs")
    p.add_argument("--verbose", action="store_true", help="a line per level on stderr")
    return p.parse_args()


def raise_priority():
    """Other sessions' work (compilers, fuzzers) would otherwise set the figures: with
    autogroup scheduling a process's nice value counts only within its session, so the whole
    session is given nice -10. Returns a note for the table."""
    if os.geteuid() != 0:
        return ""
    try:
        Path("/proc/self/autogroup").write_text("-10")
    except OSError:
        return ""
    return "; the bench's session ran at nice -10 (autogroup)"


def fsync_ms(directory, count=200):
    """p50 and p99 of a 4 KiB append and fdatasync in @directory, ms: the disk's part of a
    durable commit, measured just before a latency row."""
    path = Path(directory) / "bench-peers-fsync.tmp"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for i in range(count):
            t = time.monotonic()
            os.pwrite(fd, b"f" * 4096, i * 4096)
            os.fdatasync(fd)
            times.append((time.monotonic() - t) * 1e3)
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    return times[count // 2], times[int(count * 0.99) - 1]


class Run:
    """The brokers, the 1,000-detector gateway and the load generator of one run."""

    def __init__(self, args, workdir):
        self.args, self.workdir, self.v = args, workdir, args.verbose
        self.building = self.upstream = self.gw = self.lg = None
        self.running = []

    def setup(self):
        a = self.args
        self.building = start_broker(True)
        self.upstream = start_broker(True, require_certificate=True, acl_file=ACL)
        self.platform_cert = make_client_cert(self.upstream.dir, self.upstream.dir,
                                              "city-platform")
        self.nr_cert = make_client_cert(self.upstream.dir, self.upstream.dir, NR_GW)
        say("importing the 1,000-detector building", self.v)
        self.gw, self.dets = make_gateway(self.building, self.upstream, 1000)
        self.devices = write_devices(self.workdir / "devices-1000.tsv", self.dets)
        self.raw = Path(a.raw).resolve() / "peers-latency.tsv" if a.raw else None
        self.new_loadgen()

    def new_loadgen(self, gw=None):
        """A load generator whose resets go to @gw's daemon (default the run's gateway)."""
        if self.lg:
            self.lg.close()
        self.lg = LoadGen(self.args.loadgen, self.building, self.devices, self.upstream,
                          self.platform_cert, control=(gw or self.gw).run_dir / "control.sock",
                          raw=self.raw)

    def restart_building(self, nodelay, consumer):
        """The building broker again with set_tcp_nodelay as given; @consumer reconnects."""
        self.lg.close()
        self.lg = None
        self.building.stop()
        text = self.building.conf.read_text()
        self.building.conf.write_text(text.replace(
            f"set_tcp_nodelay {'false' if nodelay else 'true'}",
            f"set_tcp_nodelay {'true' if nodelay else 'false'}"))
        self.building.start()
        wait_heard(consumer, self.building)
        self.new_loadgen()

    def start(self, consumer_class, *args):
        c = consumer_class(*args)
        self.running.append(c)
        return c

    def stop(self, consumer):
        consumer.stop()
        self.running.remove(consumer)

    def firegate(self, log, gw=None):
        return self.start(Firegate, gw or self.gw, self.building, self.workdir / log)

    def node_red(self, cache):
        return self.start(NodeRed, cache, self.building, self.upstream, self.nr_cert,
                          self.dets, self.workdir)

    def ladder(self, consumer):
        dropped = self.lg.dropped()
        levels, best = throughput(self.lg, consumer, self.args.level_s, self.v,
                                  self.building.proc.pid)
        time.sleep(1.2)  # the broker's $SYS counts, every second
        return {"levels": levels, "best": best, "latency": {},
                "dropped": self.lg.dropped() - dropped}

    def latency(self, consumer, key, rate, result, reset_every, state=None):
        fs = fsync_ms(state or self.gw.state)
        self.lg.rate(rate)
        time.sleep(2)
        say(f"{consumer.name}: {self.args.alarms} alarms at {rate}/s", self.v)
        lat = self.lg.latency(self.args.alarms, 20, reset_every)
        self.lg.rate(0)
        lat["fsync"] = fs
        say(f"{consumer.name}: {lat}", self.v)
        result["latency"][key] = lat
        # Whatever backlog the alarms sat behind, gone before the next row.
        sent, deadline = self.lg.sent(), time.monotonic() + 30
        while consumer.processed() < sent - 10 and time.monotonic() < deadline:
            time.sleep(0.2)

    def close(self):
        for c in list(self.running):
            c.stop()
        self.running.clear()
        if self.lg:
            self.lg.close()
        for b in (self.building, self.upstream):
            if b:
                b.stop()
                if not self.args.keep:
                    b.cleanup()
        if self.gw and not self.args.keep:
            self.gw.cleanup()


def quiet_rows(run, r, nr_cache, want, peers):
    """Idle, CPU at 1,000 msg/s and disk: the consumers side by side, barely loaded; the memory
    rows of 100 and 10,000 detectors meanwhile."""
    a, v = run.args, run.v
    fg = nr = sub = None
    if want & {"idle", "cpu", "disk"}:
        fg = run.firegate("firegate-idle.log")
        nr = run.node_red(nr_cache) if peers and not a.no_node_red else None
        # The CPU row's target is mosquitto_sub's figure.
        if peers or "cpu" in want:
            sub = run.start(MosquittoSub, run.building, run.workdir)
    if "idle" in want:
        time.sleep(SETTLE_S)
        say(f"idle: {a.idle_s} s with nothing published", v)
        r["idle"] = idle({c.name: c.pid() for c in run.running}, a.idle_s)
        say(f"idle: {({k: x[0] for k, x in r['idle'].items()})}", v)
        for name, (total, threads) in r["idle"].items():
            say(f"idle: {name}, {total} switches by thread: "
                + ", ".join(f"{t} (tid {tid}) {n}"
                            for tid, (t, n) in sorted(threads.items(), key=lambda x: -x[1][1])),
                v)
    if "cpu" in want:
        r["cpu_1000"] = side_by_side(run.lg, run.running, 1000, CPU_1000_S)
        say(f"CPU at 1,000 msg/s: {r['cpu_1000']}", v)
    if sub:
        run.stop(sub)
    # The memory rows' gateways run meanwhile, on a base topic of their own.
    memory_rows = {}

    def memory_rows_thread():
        for n in (100, 10000):
            memory_rows[n] = memory_run(a, run.building, run.upstream, n, run.workdir, v)
    worker = threading.Thread(target=memory_rows_thread) if "memory" in want else None
    if worker:
        worker.start()
    if "disk" in want:
        say(f"disk: {a.disk_s} s of {r['n']} detectors reporting every {DISK_PERIOD_S} s", v)
        r["disk"] = disk(run.lg, {c.name: c.pid() for c in run.running}, r["n"], a.disk_s)
        say(f"disk: {r['disk']}", v)
    if worker:
        worker.join()
        if set(memory_rows) != {100, 10000}:
            raise RuntimeError("the memory rows failed")
        r["memory"].update(memory_rows)
    for c in (fg, nr):
        if c:
            run.stop(c)


def loaded_rows(run, r, nr_cache, want, peers):
    """Throughput, each consumer alone on the broker (mosquitto_sub first and last), the alarm
    latency under load, and the memory of the 1,000-detector gateway through them."""
    a, v = run.args, run.v
    # mosquitto_sub's ceiling: the share of it, and half of it for a latency row.
    if want & {"throughput", "latency"}:
        sub = run.start(MosquittoSub, run.building, run.workdir)
        rss0 = rss_mib(sub.pid())
        res = run.ladder(sub)
        r["rss"]["mosquitto_sub"] = (rss0, *memory(sub.pid()))
        run.stop(sub)
        r["consumers"]["mosquitto_sub"] = res
        r["ceiling"] = res["best"]["rate"] if res["best"] else 0
        r["half"] = int(round(r["ceiling"] / 2 / 500) * 500) or 1000
        say(f"ceiling: {r['ceiling']}/s; half: {r['half']}/s", v)
    if not want & {"throughput", "latency", "memory"}:
        return

    fg = run.firegate("firegate.log")
    time.sleep(1)
    rss0 = rss_mib(fg.pid())
    if "throughput" in want:
        res = run.ladder(fg)
    else:
        res = {"levels": [], "best": None, "latency": {}}
    if "latency" in want:
        run.latency(fg, "low", 1000, res, 50)
        run.latency(fg, "half", r["half"], res, 50)
    if not want & {"throughput", "latency"}:
        # Memory alone: through what the other gateways of the memory rows go through.
        say("firegate, 1000 detectors: every detector reports 5 times", v)
        report_all(run.lg, fg, r["n"])
        r["memory_1000_alone"] = True
    r["memory"][1000] = (rss0, *memory(fg.pid()))
    if "memory" in want:
        r["smaps_1000"] = smaps_rollup(fg.pid())
        rss_breakdown(fg.pid(), "firegate, 1,000 detectors, after the run", v)
        # The floor under it, with the same processes up beside it (they share its pages).
        r["floor"] = rss_floor(a.rss_floor, run.workdir)
        say(f"rss_floor: {r['floor']} (KiB)", v)
    if "latency" in want and not a.no_nagle_row:
        say("firegate: the building broker with set_tcp_nodelay off", v)
        run.restart_building(False, fg)
        run.latency(fg, "nagle", r["half"], res, 50)
        run.restart_building(True, fg)
    r["consumers"]["firegate"] = res
    run.stop(fg)

    if peers and not a.no_node_red:
        nr = run.node_red(nr_cache)
        time.sleep(1)
        rss0 = rss_mib(nr.pid())
        res = run.ladder(nr)
        run.latency(nr, "low", 1000, res, 0)
        run.latency(nr, "half", r["half"], res, 0)
        r["rss"]["Node-RED"] = (rss0, *memory(nr.pid()))
        r["consumers"]["Node-RED"] = res
        run.stop(nr)

    if peers:
        sub = run.start(MosquittoSub, run.building, run.workdir)
        r["sub_again"] = run.ladder(sub)
        run.stop(sub)
        if r["sub_again"]["best"] and r["sub_again"]["best"]["rate"] > r["ceiling"]:
            r["ceiling"] = r["sub_again"]["best"]["rate"]

    # The same gateway with its state on tmpfs: what the disk adds to an alarm.
    if "latency" in want and not a.no_tmpfs_row and Path("/dev/shm").is_dir():
        say("firegate: the state directory on tmpfs", v)
        gw, _ = make_gateway(run.building, run.upstream, r["n"], root="/dev/shm")
        try:
            fg = run.firegate("firegate-tmpfs.log", gw)
            run.new_loadgen(gw)
            res = r["consumers"]["firegate"]
            run.latency(fg, "tmpfs_low", 1000, res, 50, gw.state)
            run.latency(fg, "tmpfs_half", r["half"], res, 50, gw.state)
            run.stop(fg)
        finally:
            if not a.keep:
                gw.cleanup()


def measure(run, r, nr_cache):
    """Every row, or only those of --only: then firegate alone, with mosquitto_sub only where
    a row's target is its figure (CPU) or its ceiling (throughput, latency)."""
    want = run.args.only or set(ROWS)
    peers = not run.args.only
    quiet_rows(run, r, nr_cache, want, peers)
    loaded_rows(run, r, nr_cache, want, peers)


def main():
    args = parse_args()
    fgtest.BIN = args.firegate = str(Path(args.firegate).resolve())
    args.rss_floor = args.rss_floor or str(Path(args.loadgen).resolve().parent / "rss_floor")
    priority = "" if args.no_priority else raise_priority()
    base = Path(args.dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(base)
    workdir = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    r = {"date": datetime.date.today().isoformat(), "machine": machine(),
         "load": os.getloadavg()[0], "consumers": {}, "memory": {}, "rss": {}, "n": 1000,
         "payload": PAYLOAD_BYTES, "priority": priority, "node_red": None, "node": "",
         "mosquitto": subprocess.run(["mosquitto", "-h"], capture_output=True,
                                     text=True).stdout.split("\n")[0].split()[-1]}
    nr_cache = base / "node-red"
    say(f"firegate {args.firegate}, loadgen {args.loadgen}", args.verbose)
    if not args.no_node_red and not args.only:
        prepare_node_red(nr_cache)
        r["node_red"] = NODE_RED_VERSION
        r["node"] = subprocess.run(["node", "--version"], capture_output=True,
                                   text=True).stdout.strip()
    run = Run(args, workdir)
    try:
        run.setup()
        measure(run, r, nr_cache)
    finally:
        run.close()
        if args.keep:
            print(f"kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    r["load_after"] = os.getloadavg()[0]
    print(table(r, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
