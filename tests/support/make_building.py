#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make_building: write a synthetic, unsigned registry bundle (docs/registry-bundle.md).

Everything in it is made up: identifiers are random digits, names are drawn from short lists,
phones are +84 000 ... numbers. The output depends only on the options: the same seed gives
the same bytes. Sign it with `scripts/fg-sign sign`.
"""

import argparse
import json
import math
import random
import re
import sys
from datetime import datetime, timedelta, timezone

# Province codes of birth registration (DOMAIN.md, Identifiers): Hà Nội, Hải Phòng, Hà Nam,
# Đà Nẵng, Hồ Chí Minh City.
PROVINCES = ("001", "031", "035", "048", "079")
FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR = 1930, 2024  # never in the future

FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
                "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE_NAMES = {"m": ("Văn", "Hữu", "Đức", "Minh", "Quang", "Công"),
                "f": ("Thị", "Ngọc", "Thu", "Thanh", "Mai", "Kim")}
GIVEN_NAMES = {"m": ("An", "Bảo", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam",
                     "Phúc", "Quân", "Sơn", "Thắng", "Tuấn", "Việt"),
               "f": ("Anh", "Chi", "Dung", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Ngân",
                     "Nhung", "Phương", "Thảo", "Trang", "Yến")}

CARE_FLAGS = ("bedridden", "mobility_impaired", "needs_oxygen")
FLAGGED_SHARE, MOVED_OUT_SHARE, EXPLICIT_ACTIVE_SHARE = 0.10, 0.02, 0.20

BASE_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)
GPIO_CHIP = "firegate-io"


class Identifiers:
    """Random digit strings, unique across the whole bundle."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def claim(self, value):
        if value in self.used:
            raise ValueError(f"identifier {value} is used twice")
        self.used.add(value)
        return value

    def digits(self, n, prefix=""):
        while True:
            value = prefix + "".join(self.rng.choices("0123456789", k=n - len(prefix)))
            if value not in self.used:
                return self.claim(value)


def floor_tag(floor):
    return f"b{-floor}" if floor < 0 else f"f{floor}"


# --- records --------------------------------------------------------------------------------


def make_building(opts, building_id):
    tag = building_id[-4:]
    return {
        "location_id": building_id,
        "name": f"Chung cư Thử nghiệm {tag} (synthetic test building)",
        "address": f"Số {int(tag)} Đường Thử nghiệm, Phường Mẫu, Thành phố Ví dụ",
        "floors_above": opts.floors,
        **({"floors_below": opts.basement} if opts.basement else {}),
        "revision": opts.revision,
    }


def make_zones(opts, building_id):
    zones = [("stair-a", "Cầu thang A (stair A)"), ("stair-b", "Cầu thang B (stair B)")]
    zones += [(f"car-park-b{level}", f"Hầm để xe B{level} (car park B{level})")
              for level in range(1, opts.basement + 1)]
    return [{"zone_id": zid, "building": building_id, "name": name, "revision": opts.revision}
            for zid, name in zones]


def make_units(opts, building_id, ids):
    return [{"address_id": ids.digits(12), "building": building_id, "floor": floor,
             "number": f"{floor}.{n:02d}", "revision": opts.revision}
            for floor in range(1, opts.floors + 1)
            for n in range(1, opts.units_per_floor + 1)]


def resident_counts(rng, n_units, average):
    """Residents per unit, each 1-5, summing to ceil(average * n_units)."""
    if average == 0:
        return [0] * n_units
    counts = [1] * n_units
    open_units = list(range(n_units))  # those still below 5
    for _ in range(math.ceil(average * n_units) - n_units):
        pos = rng.randrange(len(open_units))
        unit = open_units[pos]
        counts[unit] += 1
        if counts[unit] == 5:
            open_units[pos] = open_units[-1]
            open_units.pop()
    return counts


def pick_flags(rng):
    """A plausible set of care flags and the birth years that fit it."""
    flag = rng.choice(("infant", "elderly") + CARE_FLAGS)
    if flag == "infant":
        return ["infant"], (2023, LAST_BIRTH_YEAR)
    if flag == "elderly":
        extra = [rng.choice(CARE_FLAGS)] if rng.random() < 0.4 else []
        return ["elderly"] + extra, (FIRST_BIRTH_YEAR, 1955)
    return [flag], (FIRST_BIRTH_YEAR, 2015)


def citizen_id(rng, ids, year, sex):
    """A number that passes DOMAIN.md's rules: province, century/sex digit, YY, 6 random."""
    century = (year // 100 - 19) * 2 + (sex == "f")
    prefix = f"{rng.choice(PROVINCES)}{century}{year % 100:02d}"
    return ids.digits(12, prefix)


def make_resident(opts, rng, ids, number, unit, flags, years, moved_out):
    sex = rng.choice("mf")
    year = rng.randint(*years)
    record = {"resident_id": f"res-{number:06d}", "unit": unit["address_id"],
              "citizen_id": citizen_id(rng, ids, year, sex)}
    if rng.random() < 0.97:  # some records come without a name
        record["name"] = " ".join((rng.choice(FAMILY_NAMES), rng.choice(MIDDLE_NAMES[sex]),
                                   rng.choice(GIVEN_NAMES[sex])))
    if year <= LAST_BIRTH_YEAR - 16 and rng.random() < 0.85:
        record["phone"] = f"+84 000 {rng.randrange(1000):03d} {rng.randrange(1000):03d}"
    if flags:
        record["flags"] = flags
    if moved_out:
        record["status"] = "moved_out"
    elif rng.random() < EXPLICIT_ACTIVE_SHARE:  # the default, sometimes spelt out
        record["status"] = "active"
    record["revision"] = opts.revision
    return record


def make_residents(opts, rng, ids, units):
    counts = resident_counts(rng, len(units), opts.residents_per_unit)
    total = sum(counts)
    flagged = set(rng.sample(range(total), round(total * FLAGGED_SHARE)))
    moved_out = set(rng.sample(range(total), round(total * MOVED_OUT_SHARE)))
    residents = []
    for unit, count in zip(units, counts):
        for _ in range(count):
            i = len(residents)
            flags, years = (pick_flags(rng) if i in flagged
                            else ([], (FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR)))
            residents.append(make_resident(opts, rng, ids, i + 1, unit, flags, years,
                                           i in moved_out))
    return residents


def detector(opts, building_id, detector_id, kind, source, **fields):
    return {"detector_id": detector_id, "building": building_id, "kind": kind, **fields,
            "source": source, "revision": opts.revision}


def mqtt(bridge, device):
    return {"type": "mqtt", "bridge": bridge, "device": device}


def unit_detectors(opts, rng, building_id, unit):
    """One smoke, one heat, then a multi in the hall and smoke in the bedrooms."""
    floor, n = unit["floor"], int(unit["number"].split(".")[1])
    base = f"{floor_tag(floor)}-u{n:02d}"
    name = f"apt-{floor}-{n:02d}"
    out = []
    for k in range(opts.detectors_per_unit):
        if k == 0:
            # The smoke detector repeats its unit's floor; the heat detector leaves it out.
            out.append(detector(opts, building_id, f"{base}-smoke", "smoke",
                                mqtt("zigbee2mqtt", f"{name}-smoke"),
                                unit=unit["address_id"], floor=floor, location="living room"))
        elif k == 1:
            if rng.random() < 0.5:
                source, period = mqtt("zigbee2mqtt", f"{name}-heat"), 3600
            else:
                source, period = mqtt("tasmota", f"{name.replace('-', '_')}_heat"), 300
            out.append(detector(opts, building_id, f"{base}-heat", "heat", source,
                                heat_class="A1R", unit=unit["address_id"], location="kitchen",
                                report_period_s=period))
        elif k == 2:
            out.append(detector(opts, building_id, f"{base}-multi", "multi",
                                mqtt("zigbee2mqtt", f"{name}-multi"),
                                unit=unit["address_id"], location="hallway"))
        else:
            out.append(detector(opts, building_id, f"{base}-smoke{k - 2}", "smoke",
                                mqtt("zigbee2mqtt", f"{name}-bedroom{k - 2}"),
                                unit=unit["address_id"], location=f"bedroom {k - 2}"))
    return out


def call_point(opts, building_id, floor, zone, index):
    # Wired call points: two lines each, the second for end-of-line supervision.
    source = {"type": "gpio", "chip": GPIO_CHIP, "line": 2 * index, "active_low": True}
    if floor > 0:  # basement ones rely on the defaults for bias and debounce
        source.update(bias="pull-up", debounce_ms=50)
    source["fault_line"] = 2 * index + 1
    return detector(opts, building_id, f"{floor_tag(floor)}-callpoint", "call_point", source,
                    floor=floor, zone=zone, location=f"call point, exit, floor {floor}")


def common_detectors(opts, building_id):
    """Stairwells and a call point on each floor, a lobby multi, car park heat detectors."""
    out = []
    index = 0
    for floor in range(1, opts.floors + 1):
        for stair in "ab":
            out.append(detector(opts, building_id, f"f{floor}-stair-{stair}-smoke", "smoke",
                                mqtt("zigbee2mqtt", f"stair-{stair}-{floor}-smoke"),
                                floor=floor, zone=f"stair-{stair}",
                                location=f"stair {stair.upper()} landing, floor {floor}",
                                report_period_s=3600))
        out.append(call_point(opts, building_id, floor, "stair-a", index))
        index += 1
        if floor == 1:  # a common area with no installer zone
            out.append(detector(opts, building_id, "f1-lobby-multi", "multi",
                                mqtt("generic", "lobby/multi-1"), heat_class="A2",
                                floor=1, location="lobby", report_period_s=120))
    heads = max(4, opts.units_per_floor // 2)
    for level in range(1, opts.basement + 1):
        zone = f"car-park-b{level}"
        for h in range(1, heads + 1):
            out.append(detector(opts, building_id, f"b{level}-carpark-heat{h:02d}", "heat",
                                mqtt("esphome", f"carpark-b{level}/heat_{h:02d}"),
                                heat_class="BS", floor=-level, zone=zone,
                                location=f"car park B{level}, bay {h}", report_period_s=60))
        out.append(call_point(opts, building_id, -level, zone, index))
        index += 1
    return out


def make_bundle(opts):
    rng = random.Random(opts.seed)
    ids = Identifiers(rng)
    if opts.generated_at is None:
        when = BASE_TIME + timedelta(seconds=rng.randrange(365 * 86400))
        opts.generated_at = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    building_id = ids.claim(opts.building_id) if opts.building_id else ids.digits(12)
    units = make_units(opts, building_id, ids)
    detectors = [d for unit in units for d in unit_detectors(opts, rng, building_id, unit)]
    return {
        "format": "firegate-registry-bundle",
        "version": 1,
        "generated_at": opts.generated_at,
        "building": make_building(opts, building_id),
        "zones": make_zones(opts, building_id),
        "units": units,
        "residents": make_residents(opts, rng, ids, units),
        "detectors": detectors + common_detectors(opts, building_id),
    }


# --- command line ---------------------------------------------------------------------------


def ranged(kind, low, high):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not in {low}..{high}")
        return value
    return parse


def pattern(regex, what):
    def parse(text):
        if not re.fullmatch(regex, text):
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return text
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Write a synthetic, unsigned registry bundle; the same options give the "
        "same bytes.")
    p.add_argument("--floors", type=ranged(int, 1, 200), default=20,
                   help="floors above ground (default 20)")
    p.add_argument("--units-per-floor", type=ranged(int, 1, 999), default=20,
                   help="units on each floor above ground (default 20)")
    p.add_argument("--residents-per-unit", type=ranged(float, 0, 5), default=2.5,
                   help="average residents per unit, each unit 1-5; 0 for none (default 2.5)")
    p.add_argument("--detectors-per-unit", type=ranged(int, 0, 8), default=2,
                   help="detectors in each unit: smoke, heat, multi, then smoke (default 2)")
    p.add_argument("--basement", type=ranged(int, 0, 20), default=1,
                   help="car park levels below ground (default 1)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--building-id", type=pattern(r"[0-9]{12}", "12 digits"),
                   help="the building's location_id (default: drawn from the seed)")
    p.add_argument("--revision", type=ranged(int, 1, 2**53 - 1), default=1,
                   help="revision of every record (default 1)")
    p.add_argument("--generated-at",
                   type=pattern(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
                                "an RFC 3339 UTC time such as 2026-11-23T08:00:00Z"),
                   help="generated_at (default: drawn from the seed, never the clock)")
    p.add_argument("out", metavar="OUT", help="output file, - for standard output")
    opts = p.parse_args(argv)
    if 0 < opts.residents_per_unit < 1:
        p.error("--residents-per-unit must be 0 or 1..5")
    return opts


def main(argv=None):
    opts = parse_args(argv)
    bundle = make_bundle(opts)
    text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    if opts.out == "-":
        sys.stdout.write(text)
    else:
        with open(opts.out, "w", encoding="utf-8") as f:
            f.write(text)
    print(f"{opts.out}: {len(bundle['units'])} units, {len(bundle['residents'])} residents, "
          f"{len(bundle['detectors'])} detectors", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
