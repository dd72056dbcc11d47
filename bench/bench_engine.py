#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Rules engine benchmark: speed (bench_engine's own table) and cost per reading counted by
callgrind, which counts instructions, not seconds, so the figure repeats whatever else the
machine is doing. The cost of N telemetry readings minus the cost of setting up alone, over N,
is the engine's instructions per reading at 1,000 detectors.

Usage: bench_engine.py BENCH_ENGINE_BINARY RULES_DIR
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

READINGS = 200000


def instructions(binary, rules, readings, detectors=1000):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        binary, "--quiet", "--rules", rules, "--detectors", str(detectors),
                        "--readings", str(readings)],
                       check=True, capture_output=True)
        summary = re.search(r"^summary: (\d+)", out.read_text(), re.M)
        return int(summary.group(1))


def main():
    binary, rules = sys.argv[1], sys.argv[2]
    subprocess.run([binary, "--rules", rules], check=True)
    print(f"\nInstructions per telemetry reading (callgrind, {READINGS} readings)\n")
    print("| detectors | instructions/reading |")
    print("|---:|---:|")
    for detectors in (100, 1000, 10000):
        base = instructions(binary, rules, 0, detectors)
        full = instructions(binary, rules, READINGS, detectors)
        print(f"| {detectors} | {(full - base) / READINGS:.0f} |")


if __name__ == "__main__":
    main()
