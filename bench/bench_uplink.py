#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Alarm latency through the uplink: the whole gateway between two real Mosquitto brokers on
loopback, as tests/integration/test_uplink_daemon.py sets it up. The building's broker is plain;
the platform's requires TLS with client certificates (made here with openssl) and applies the
shipped examples/upstream-acl.conf. The gateway imports a signed synthetic building (20 floors
of 10 flats by default, one heat detector in each flat's kitchen: Tasmota or Zigbee2MQTT) and
runs as `firegate run` with [uplink] uris = ssl://..., insecure = no. bench_uplink (C, with
libmosquitto) raises each heat detector's alarm in turn on the building broker and times it
until the platform's account receives the fire_alarm alert; see bench_uplink.c.

The gateway's state directory (its SQLite store, synchronous=FULL) is made under --dir, which
should be on the medium the gateway will use; bench_uplink times fdatasync there too.

Prints one markdown table and the machine; does not fail on the target (p99 <= 5 ms), it says
whether it was met. Exits non-zero when the setup fails or an alarm never arrives. The default
10,000 alarms take about a minute; past about 150 s the detectors not exercised fall silent
(the car park's ESPHome heads report every 60 s, supervised at 2.5 times that) and their
faults show up as "other" alerts in the summary.

Usage: bench_uplink.py [--bench BENCH_UPLINK] [--dir DIR] [--alarms N] [--floors N]
                       [--units-per-floor N] [--raw FILE] [--keep] [--verbose]
FIREGATE_BIN names the firegate binary (default build/release/firegate).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("FIREGATE_SOURCE_DIR", Path(__file__).resolve().parents[1]))
RELEASE = ROOT / "build" / "release"
# fgtest reads FIREGATE_BIN when imported: the optimised build, not the sanitised debug one.
os.environ.setdefault("FIREGATE_BIN", str(RELEASE / "firegate"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import fgtest  # noqa: E402
from broker import Broker, make_client_cert  # noqa: E402

GW = "gw-bench-01"
ACL = ROOT / "examples" / "upstream-acl.conf"

# How each bridge's heat detector says fire, and that it is gone (docs/bridges.md).
PAYLOADS = {
    "tasmota": ("stat/{}/RESULT", '{"Switch1":{"Action":"ON"}}', '{"Switch1":{"Action":"OFF"}}'),
    "zigbee2mqtt": ("zigbee2mqtt/{}", '{"smoke": true}', '{"smoke": false}'),
}


def heat_detectors(gw):
    """(id, topic, on, off) of each flat's heat detector heard through Tasmota or Zigbee2MQTT."""
    out = []
    for d in gw.json("detectors"):
        bridge, _, device = d["address"].partition(":")
        if d["kind"] == "heat" and d["unit"] and bridge in PAYLOADS:
            topic, on, off = PAYLOADS[bridge]
            out.append((d["detector_id"], topic.format(device), on, off))
    return out


def wait_for_line(log, needle, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"the daemon never said {needle!r}:\n{log.read_text(errors='replace')}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bench", default=str(RELEASE / "bench" / "bench_uplink"))
    p.add_argument("--dir", default=str(RELEASE), help="where the gateway's state goes")
    p.add_argument("--alarms", type=int, default=10000)
    p.add_argument("--floors", type=int, default=20)
    p.add_argument("--units-per-floor", type=int, default=10)
    p.add_argument("--raw", help="write every alarm's latency to this file (bench_uplink --raw)")
    p.add_argument("--keep", action="store_true", help="keep the state, logs and configs")
    p.add_argument("--verbose", action="store_true", help="a line per round on stderr")
    args = p.parse_args()

    # Brokers, certificates and the gateway all under --dir (fgtest and broker use mkdtemp).
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(Path(args.dir).resolve())
    building = upstream = gw = daemon = None
    try:
        building = Broker()
        upstream = Broker(require_certificate=True, acl_file=ACL)
        platform_cert, platform_key = make_client_cert(upstream.dir, upstream.dir,
                                                       "city-platform")
        gw = fgtest.Gateway(extra_config=f"id = {GW}\n", broker_port=building.port)
        cert, key = make_client_cert(gw.dir, upstream.dir, GW)
        with gw.config.open("a") as f:
            f.write(f"[rules]\ndir = {ROOT / 'rules'}\n"
                    f"[uplink]\nuris = ssl://127.0.0.1:{upstream.port}\ninsecure = no\n"
                    f"cafile = {upstream.cafile}\ncertfile = {cert}\nkeyfile = {key}\n")
        gw.firegate("import", gw.bundle(floors=args.floors, units_per_floor=args.units_per_floor),
                    check=0)
        detectors = heat_detectors(gw)
        listing = gw.dir / "detectors.tsv"
        listing.write_text("".join("\t".join(d) + "\n" for d in detectors))

        log = gw.dir / "firegate.log"
        with log.open("w") as err:
            daemon = subprocess.Popen([fgtest.BIN, "--config", str(gw.config), "run"],
                                      stdout=subprocess.DEVNULL, stderr=err)
        wait_for_line(log, "ready", daemon)
        print(f"\nfiregate {fgtest.BIN}; {len(detectors)} heat detectors "
              f"({args.floors} floors x {args.units_per_floor} flats); state in {gw.state}",
              flush=True)
        bench = [args.bench, "--detectors", listing, "--control", gw.run_dir / "control.sock",
                 "--gateway", GW, "--state-dir", gw.state,
                 "--building-port", building.port, "--upstream-port", upstream.port,
                 "--cafile", upstream.cafile, "--cert", platform_cert, "--key", platform_key,
                 "--alarms", args.alarms] + (["--verbose"] if args.verbose else [])
        if args.raw:
            bench += ["--raw", Path(args.raw).resolve()]
        done = subprocess.run([str(a) for a in bench])
        if daemon.poll() is not None:
            raise RuntimeError(f"the daemon stopped during the benchmark:\n"
                               f"{log.read_text(errors='replace')[-4000:]}")
        return done.returncode
    finally:
        if daemon and daemon.poll() is None:
            daemon.terminate()
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        for broker in (building, upstream):
            if broker:
                broker.stop()
                if not args.keep:
                    broker.cleanup()
        if gw:
            if args.keep:
                print(f"kept: {gw.dir}", file=sys.stderr)
            else:
                gw.cleanup()

if __name__ == "__main__":
    sys.exit(main())
