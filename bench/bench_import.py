#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Import benchmark: the time `firegate import` takes for the 20-storey test building (400
units, 1,000 residents, 872 detectors, 2,276 signed records), into an empty store and again
into a store that already holds it. Each figure is the wall time of the real binary, best and
median of several runs, with the durable commit included. Prints one markdown table.

Target (issue #3): under 1 s on the development machine.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("FIREGATE_SOURCE_DIR", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import fgtest  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "7"))


def timed(argv):
    start = time.perf_counter()
    subprocess.run([str(a) for a in argv], check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    gw = fgtest.Gateway()
    try:
        bundle = gw.bundle(floors=20, units_per_floor=20)
        records = 1 + sum(len(fgtest.load_json(bundle)[k])
                          for k in ("zones", "units", "residents", "detectors"))
        size = bundle.stat().st_size
        cold, warm = [], []
        for _ in range(RUNS):
            shutil.rmtree(gw.state, ignore_errors=True)
            cold.append(timed([fgtest.BIN, "--config", gw.config, "import", bundle]))
            warm.append(timed([fgtest.BIN, "--config", gw.config, "import", bundle]))
        print(f"\nImport of {records} signed records ({size / 1024:.0f} KiB), {RUNS} runs, "
              f"binary {fgtest.BIN}\n")
        print("| case | best (ms) | median (ms) | per record (µs, median) | target |")
        print("|---|---:|---:|---:|---|")
        for name, xs in (("into an empty store", cold), ("same bundle again", warm)):
            med = statistics.median(xs)
            print(f"| {name} | {min(xs) * 1000:.0f} | {med * 1000:.0f} | "
                  f"{med / records * 1e6:.0f} | < 1000 ms: {'met' if med < 1 else 'NOT MET'} |")
    finally:
        gw.cleanup()


if __name__ == "__main__":
    main()
