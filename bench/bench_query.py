#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Query benchmark: how long `firegate incidents` takes over a month of a busy building's log
(target: under 200 ms at 100,000 incident events in the month), and `firegate report` over the
same month.

The store holds three months (the one queried, the one before and the one after), each with
more than 100,000 incident events, written by the query tests' generator
(tests/integration/test_incidents_cli.py), so the rows are shaped as gateway/incident.c writes
them. Each command runs several times from the optimised build (build/release, made by cmake
when missing); the median wall time of the whole process is printed, as a markdown table.

Usage: bench_query.py [FIREGATE_BINARY]
"""

import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import fgtest  # noqa: E402
import test_incidents_cli as month  # noqa: E402

RUNS = 9
INCIDENTS_PER_MONTH = 28000  # about 3.6 events each: over 100,000 events a month
ZONE = "Asia/Ho_Chi_Minh"


def release_binary():
    """build/release/firegate, configured and built when missing or stale."""
    build = ROOT / "build" / "release"
    if not (build / "CMakeCache.txt").exists():
        subprocess.run(["cmake", "-S", ROOT, "-B", build, "-G", "Ninja",
                        "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", build, "--target", "firegate"], check=True,
                   capture_output=True)
    return build / "firegate"


def build_store(gw):
    gw.firegate("import", gw.bundle(floors=20, units_per_floor=10, basement=1), check=0)
    db = gw.state / "firegate.db"
    detectors = month.registry_detectors(db)
    incidents = []
    for first, (start, end) in enumerate((("2026-10-01T00:00:00+07:00", "2026-11-01T00:00:00+07:00"),
                                          ("2026-11-01T00:00:00+07:00", "2026-12-01T00:00:00+07:00"),
                                          ("2026-12-01T00:00:00+07:00", "2027-01-01T00:00:00+07:00"))):
        incidents += month.generate(detectors, month.ms(start), month.ms(end),
                                    INCIDENTS_PER_MONTH, seed=first + 11,
                                    first_id=1 + first * INCIDENTS_PER_MONTH,
                                    open_last=40 if first == 2 else 0)
    month.write(db, incidents)
    con = sqlite3.connect(db)
    try:
        # Walk tests: most detectors tested once a month, as engine_event rows.
        with con:
            con.executemany("INSERT INTO engine_event (at, decision, detector, unit, floor, place, "
                            "cause, rule) VALUES (?, 'test', ?, ?, ?, ?, 'walk test', 'built-in')",
                            ((month.ms(f"2026-{m:02}-15T09:00:00+07:00") + k * 60000, d[0], d[1],
                              d[2], f"unit:{d[1]}" if d[1] else f"floor:{d[2]}")
                             for m in (10, 11, 12) for k, d in enumerate(detectors) if k % 7))
        events = con.execute("SELECT count(*) FROM incident_event e JOIN incident i ON i.id = "
                             "e.incident WHERE i.first_at >= ? AND i.first_at < ?",
                             (month.ms("2026-11-01T00:00:00+07:00"),
                              month.ms("2026-12-01T00:00:00+07:00"))).fetchone()[0]
    finally:
        con.close()
    return detectors, events


def timed(binary, gw, args):
    env = dict(os.environ)
    env.pop("FIREGATE_CONFIG", None)
    times, rows = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        done = subprocess.run([binary, "--config", gw.config, *args], capture_output=True,
                              env=env, check=True)
        times.append((time.perf_counter() - start) * 1000)
        rows = done.stdout.count(b"\n") - 1
    return statistics.median(times), rows


def main():
    binary = Path(sys.argv[1]) if len(sys.argv) > 1 else release_binary()
    gw = fgtest.Gateway()
    try:
        detectors, events = build_store(gw)
        unit = next(d[1] for d in detectors if d[1])
        period = ["--tz", ZONE, "--from", "2026-11-01", "--to", "2026-11-30"]
        cases = [
            ("incidents, the month (table)", ["incidents", *period]),
            ("incidents, the month (CSV)", ["incidents", *period, "--csv"]),
            ("incidents, the month (JSON)", ["incidents", *period, "--json"]),
            ("incidents, the month, --kind alarm --state closed",
             ["incidents", *period, "--kind", "alarm", "--state", "closed"]),
            ("incidents, the month, --unit", ["incidents", *period, "--unit", unit]),
            ("incidents, the month, --floor 7 --cause smoke",
             ["incidents", *period, "--floor", "7", "--cause", "smoke"]),
            ("incident show", ["incident", "show", str(INCIDENTS_PER_MONTH + 100), *period[:2]]),
            ("report, the month", ["report", *period]),
            ("report, the month --by unit", ["report", *period, "--by", "unit"]),
        ]
        print(f"\nQueries over a month of {events} incident events "
              f"({INCIDENTS_PER_MONTH} incidents a month, three months stored, "
              f"{len(detectors)} detectors), median of {RUNS} runs of {binary.name}\n")
        print("| query | lines printed | median ms | ms beyond the baseline |")
        print("|---|---:|---:|---:|")
        # What every command pays before its query: opening the store (store_open() runs
        # PRAGMA quick_check, linear in the file's size) and an empty listing.
        base, _ = timed(binary, gw, ["incidents", "--from", "2020-01-01", "--to", "2020-01-02"])
        print(f"| baseline: open the store, list nothing | 0 | {base:.0f} | 0 |")
        for name, args in cases:
            ms, rows = timed(binary, gw, args)
            print(f"| {name} | {rows} | {ms:.0f} | {ms - base:.0f} |")
    finally:
        gw.cleanup()


if __name__ == "__main__":
    main()
