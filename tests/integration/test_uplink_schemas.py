#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The uplink's contract (docs/uplink.md) as JSON Schemas (schema/uplink/) and as the platform
broker's ACL (examples/upstream-acl.conf, examples/upstream-mosquitto.conf).

UplinkSchemaTest: every schema is a valid Draft 2020-12 schema; a realistic message of each
kind (synthetic data) matches, and so do the docs' own example and the docs' enumerations; more
than thirty wrong messages are each refused, at the right place, by the right keyword.

UpstreamAclTest: a copy of examples/upstream-mosquitto.conf (its own port, certificates from a
throw-away CA, the ACL file as it is) runs in a real Mosquitto, and mosquitto_pub and
mosquitto_sub with client certificates prove that a gateway publishes only under its own id,
that the platform's command reaches the gateway, and that no other account can publish under
the platform's name (but can under its own).

Run: FIREGATE_SOURCE_DIR=. /usr/bin/python3 tests/integration/test_uplink_schemas.py -v
(python3-jsonschema; openssl, mosquitto and mosquitto-clients for the second class)
"""

import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import uplink_schemas  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402

ROOT = Path(os.environ.get("FIREGATE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
DOC = ROOT / "docs" / "uplink.md"
GW = "gw-test-01"
AT = 1795000000000  # 2026-11-18, synthetic
BUILDING = "900000000100"
UNIT = "900000000101"


def new_id():
    return str(uuid.uuid4())


def envelope(kind, seq=None):
    m = {"schema": f"firegate/{kind}", "version": 1, "gateway": GW, "at": AT}
    if seq is not None:
        m.update(id=new_id(), seq=seq)
    return m


def alert():
    """A fire alarm in a unit with a bedridden verified resident: every field in use."""
    return {
        **envelope("alert", seq=41),
        "event": "fire_alarm",
        "incident": 12,
        "building": {"location_id": BUILDING, "name": "Chung cư Thử nghiệm A"},
        "place": f"unit:{UNIT}",
        "unit": {"address_id": UNIT, "floor": 1, "number": "101", "verified": True},
        "floor": 1,
        "zone": None,
        "detectors": [
            {"id": "smoke-101-hall", "kind": "smoke", "verified": True},
            {"id": "smoke-101-bed", "kind": "smoke", "verified": True},
        ],
        "cause": "smoke, confirmed by smoke-101-hall in its unit",
        "rule": "units",
        "fault": None,
        "flags": ["priority_rescue", "verification_skipped", "confirmed"],
        "first_detection_at": AT - 25000,
        "verification": "verified",
        "occupancy": {
            "verified_residents": ["res-000123", "res-000124", "res-000125"],
            "residents": 3,
            "unverified_residents": 1,
            "bedridden": 1,
            "mobility_impaired": 0,
            "elderly": 1,
            "infant": 1,
            "needs_oxygen": 0,
        },
        "priority_rescue": True,
        "by": None,
        "test": False,
    }


def fault_alert():
    """A battery fault on a detector in an installer zone, no unit."""
    return {
        **envelope("alert", seq=42),
        "event": "fault",
        "incident": 13,
        "building": {"location_id": BUILDING, "name": "Chung cư Thử nghiệm A"},
        "place": "zone:car-park-b1",
        "unit": None,
        "floor": -1,
        "zone": "car-park-b1",
        "detectors": [{"id": "heat-b1-03", "kind": "heat", "verified": False}],
        "cause": "battery at 9 % (below 15 %)",
        "rule": "built-in",
        "fault": "battery_low",
        "flags": ["unverified"],
        "first_detection_at": None,
        "verification": "unverified",
        "occupancy": None,
        "priority_rescue": False,
        "by": None,
        "test": False,
    }


def flagged_alert():
    """The engine's priority rescue flag without the registry's count (re-imported since)."""
    m = alert()
    m["occupancy"].update(bedridden=0, mobility_impaired=0)
    return m


def platform_ack_alert():
    """The platform acknowledged an alarm of an unknown detector, before any registry."""
    return {
        **envelope("alert", seq=43),
        "event": "acknowledge",
        "incident": 14,
        "building": None,
        "place": "building",
        "unit": None,
        "floor": None,
        "zone": None,
        "detectors": [{"id": "zigbee2mqtt:0x00158d0001a2b3c4", "kind": "unknown",
                       "verified": False}],
        "cause": "acknowledged",
        "rule": "built-in",
        "fault": None,
        "flags": ["unknown_detector"],
        "first_detection_at": AT - 90000,
        "verification": "unknown",
        "occupancy": None,
        "priority_rescue": False,
        "by": "platform:city-platform",
        "test": False,
    }


def stats():
    return {
        **envelope("stats", seq=44),
        "interval_s": 300,
        "uptime_s": 86400,
        "detectors": {"normal": 118, "pre-alarm": 0, "alarm": 2, "acknowledged": 0,
                      "silenced": 0, "fault": 1, "disabled": 1, "test": 0},
        "faults": {"silent": 0, "offline": 0, "battery_low": 1, "tamper": 0, "device": 0,
                   "invalid_data": 0},
        "battery_low": 1,
        "messages": {"received": 51234, "malformed": 3, "oversize": 0, "unknown_topic": 12,
                     "unknown_device": 1},
        "open_incidents": {"alarm": 1, "pre_alarm": 0, "fault": 1},
        "outbox": {"pending": 2, "coalesced": 0},
        "building_broker": {"connected": True},
        "chain_head": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    }


def status_online():
    return {**envelope("status"), "state": "online", "since": AT - 5}


def status_offline():
    return {**envelope("status"), "state": "offline"}


def heartbeat():
    return {**envelope("heartbeat"), "uptime_s": 86400, "outbox_pending": 0, "alarms_open": 1}


def response():
    return {**envelope("response", seq=45), "request_id": "3f2a6c1e-9b0d-4d6e-8a47-0c9e8f7a1b2c",
            "result": "ok", "reason": "acknowledged incident 12", "incident": 12}


def command():
    return {"request_id": "3f2a6c1e-9b0d-4d6e-8a47-0c9e8f7a1b2c", "at": AT, "target": "12",
            "operator": "duty officer 4"}


VALID = {
    "alert, fire alarm": ("alert", alert),
    "alert, fault": ("alert", fault_alert),
    "alert, platform acknowledge, no registry": ("alert", platform_ack_alert),
    "alert, priority rescue by the engine's flag": ("alert", flagged_alert),
    "stats": ("stats", stats),
    "status online": ("status", status_online),
    "status offline": ("status", status_offline),
    "heartbeat": ("heartbeat", heartbeat),
    "response": ("response", response),
    "command": ("command", command),
    "query": ("query", lambda: {"request_id": "q-0000-0001", "at": AT, "operator": "investigator 12",
                                "filters": {"from": AT - 86400000, "to": AT, "kind": "alarm",
                                            "floor": 3, "unit": "000000000101"},
                                "page": 2, "page_size": 25}),
    "response to a query": ("response", lambda: {**response(), "page": 1, "page_size": 50,
                                                 "total": 1, "truncated": False,
                                                 "incidents": [QUERY_ROW]}),
}


QUERY_ROW = {
    "id": 12, "kind": "alarm", "state": "open", "unit": "000000000101", "floor": 1, "zone": None,
    "place": "unit:000000000101", "detector": "f1-u01-heat", "detectors": 1,
    "cause": "heat alarm reported by the detector", "rule": "all", "flags": None, "fault": None,
    "first_at": AT - 60000, "alarm_at": AT - 60000, "last_at": AT, "acknowledged_by": None,
    "acknowledged_at": None, "silenced_by": None, "silenced_at": None, "reset_by": None,
    "reset_at": None, "closed_at": None, "false_alarm_by": None, "false_alarm_at": None,
    "events": 2,
}


def setp(path, value):
    """A change to a message: sets (or, with value DELETE, removes) the field at @path."""
    def change(m):
        *parents, last = path
        for p in parents:
            m = m[p]
        if value is DELETE:
            del m[last]
        else:
            m[last] = value
    return change


DELETE = object()

# (name, kind, message, change, path, keyword, words in the error message)
INVALID = [
    ("missing required field", "alert", alert, setp(["cause"], DELETE),
     "$", "required", "'cause' is a required property"),
    ("null seq without saying it is unstored", "alert", alert, setp(["seq"], None),
     "$", "required", "'stored' is a required property"),
    ("unstored with a seq", "alert", alert, setp(["stored"], False),
     "$.seq", "type", "is not of type 'null'"),
    ("stored said true", "alert", alert, setp(["stored"], True),
     "$.stored", "const", "False was expected"),
    ("missing null-able field", "alert", fault_alert, setp(["unit"], DELETE),
     "$", "required", "'unit' is a required property"),
    ("extra field", "alert", alert, setp(["debug"], True),
     "$", "additionalProperties", "'debug' was unexpected"),
    ("wrong event", "alert", alert, setp(["event"], "fire"),
     "$.event", "enum", "'fire' is not one of"),
    ("identity number in occupancy", "alert", alert,
     setp(["occupancy", "citizen_id"], "001190012345"),
     "$.occupancy", "additionalProperties", "'citizen_id' was unexpected"),
    ("a name in occupancy", "alert", alert, setp(["occupancy", "name"], "Nguyễn Văn An"),
     "$.occupancy", "additionalProperties", "'name' was unexpected"),
    ("negative count", "alert", alert, setp(["occupancy", "residents"], -1),
     "$.occupancy.residents", "minimum", "-1 is less than the minimum of 0"),
    ("a boolean for a count", "alert", alert, setp(["occupancy", "infant"], True),
     "$.occupancy.infant", "type", "True is not of type 'integer'"),
    ("resident id with a space", "alert", alert,
     setp(["occupancy", "verified_residents", 0], "res 000123"),
     "$.occupancy.verified_residents[0]", "pattern", "does not match"),
    ("UUID of version 1", "alert", alert, setp(["id"], "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
     "$.id", "pattern", "does not match"),
    ("UUID in upper case", "alert", alert, setp(["id"], "3F2A6C1E-9B0D-4D6E-8A47-0C9E8F7A1B2C"),
     "$.id", "pattern", "does not match"),
    ("not a UUID", "stats", stats, setp(["id"], "not-a-uuid"),
     "$.id", "format", "is not a 'uuid'"),
    ("seq 0", "alert", alert, setp(["seq"], 0),
     "$.seq", "minimum", "0 is less than the minimum of 1"),
    ("at in 1999", "alert", alert, setp(["at"], 930000000000),
     "$.at", "minimum", "is less than the minimum of 1577836800000"),
    ("at in seconds", "heartbeat", heartbeat, setp(["at"], AT // 1000),
     "$.at", "minimum", "is less than the minimum"),
    ("at in 2100", "stats", stats, setp(["at"], 4102444800000),
     "$.at", "exclusiveMaximum", "is greater than or equal to the maximum"),
    ("at as a float", "status", status_online, setp(["at"], AT + 0.5),
     "$.at", "type", "is not of type 'integer'"),
    ("control character in cause", "alert", alert, setp(["cause"], "smoke\u0007 in the hall"),
     "$.cause", "not", "should not be valid under"),
    ("newline after the gateway id", "alert", alert, setp(["gateway"], GW + "\n"),
     "$.gateway", "not", "should not be valid under"),
    ("slash in the gateway id", "heartbeat", heartbeat, setp(["gateway"], "gw/test"),
     "$.gateway", "pattern", "does not match"),
    ("wrong version", "alert", alert, setp(["version"], 2),
     "$.version", "const", "1 was expected"),
    ("wrong schema name", "stats", stats, setp(["schema"], "firegate/alert"),
     "$.schema", "const", "'firegate/stats' was expected"),
    ("unknown flag", "alert", alert, setp(["flags", 0], "urgent"),
     "$.flags[0]", "enum", "'urgent' is not one of"),
    ("repeated flag", "alert", alert, setp(["flags"], ["confirmed", "confirmed"]),
     "$.flags", "uniqueItems", "has non-unique elements"),
    ("unknown fault kind", "alert", fault_alert, setp(["fault"], "smouldering"),
     "$.fault", "enum", "'smouldering' is not one of"),
    ("a fault without its kind", "alert", fault_alert, setp(["fault"], None),
     "$.fault", "type", "None is not of type 'string'"),
    ("unknown detector kind", "alert", alert, setp(["detectors", 0, "kind"], "co"),
     "$.detectors[0].kind", "enum", "'co' is not one of"),
    ("unknown detector said verified", "alert", platform_ack_alert,
     setp(["detectors", 0, "verified"], True),
     "$.detectors[0].verified", "const", "False was expected"),
    ("a registry detector id with a colon", "alert", alert,
     setp(["detectors", 0, "id"], "zigbee2mqtt:smoke"),
     "$.detectors[0].id", "pattern", "does not match"),
    ("wrong verification", "alert", alert, setp(["verification"], "signed"),
     "$.verification", "enum", "'signed' is not one of"),
    ("verified with an unverified detector", "alert", alert,
     setp(["detectors", 1, "verified"], False),
     "$.detectors[1].verified", "const", "True was expected"),
    ("floor 0", "alert", alert, setp(["unit", "floor"], 0),
     "$.unit.floor", "not", "should not be valid under"),
    ("place floor:0", "alert", alert, setp(["place"], "floor:0"),
     "$.place", "pattern", "does not match"),
    ("building location id of 11 digits", "alert", alert,
     setp(["building", "location_id"], "90000000010"),
     "$.building.location_id", "pattern", "does not match"),
    ("priority rescue flag without priority rescue", "alert", flagged_alert,
     setp(["priority_rescue"], False),
     "$.priority_rescue", "const", "True was expected"),
    ("occupancy without its unit", "alert", alert, setp(["unit"], None),
     "$.unit", "type", "None is not of type 'object'"),
    ("by on a fire alarm", "alert", alert, setp(["by"], "desk"),
     "$.by", "const", "None was expected"),
    ("acknowledge without by", "alert", platform_ack_alert, setp(["by"], None),
     "$.by", "type", "None is not of type 'string'"),
    ("bedridden resident without priority rescue", "alert", alert,
     setp(["priority_rescue"], False),
     "$.priority_rescue", "const", "True was expected"),
    ("stats state spelt pre_alarm", "stats", stats, setp(["detectors", "pre_alarm"], 0),
     "$.detectors", "additionalProperties", "'pre_alarm' was unexpected"),
    ("stats without a state", "stats", stats, setp(["detectors", "test"], DELETE),
     "$.detectors", "required", "'test' is a required property"),
    ("stats without a fault kind", "stats", stats, setp(["faults", "tamper"], DELETE),
     "$.faults", "required", "'tamper' is a required property"),
    ("negative message count", "stats", stats, setp(["messages", "malformed"], -3),
     "$.messages.malformed", "minimum", "less than the minimum of 0"),
    ("chain head in upper case", "stats", stats, setp(["chain_head"], "9F" * 32),
     "$.chain_head", "pattern", "does not match"),
    ("chain head missing", "stats", stats, setp(["chain_head"], DELETE),
     "$", "required", "'chain_head' is a required property"),
    ("stats with a null seq without saying they are unstored", "stats", stats,
     setp(["seq"], None), "$", "required", "'stored' is a required property"),
    ("stored stats said unstored", "stats", stats, setp(["stored"], False),
     "$", "not", "should not be valid under"),
    ("broker connected as a string", "stats", stats,
     setp(["building_broker", "connected"], "yes"),
     "$.building_broker.connected", "type", "'yes' is not of type 'boolean'"),
    ("online without since", "status", status_online, setp(["since"], DELETE),
     "$", "required", "'since' is a required property"),
    ("offline with since", "status", status_offline, setp(["since"], AT),
     "$", "not", "should not be valid under"),
    ("unknown state", "status", status_online, setp(["state"], "away"),
     "$.state", "enum", "'away' is not one of"),
    ("heartbeat with an id", "heartbeat", heartbeat, setp(["id"], new_id()),
     "$", "additionalProperties", "'id' was unexpected"),
    ("wrong result", "response", response, setp(["result"], "done"),
     "$.result", "enum", "'done' is not one of"),
    ("response without incident", "response", response, setp(["incident"], DELETE),
     "$", "required", "'incident' is a required property"),
    ("request id with a slash", "command", command, setp(["request_id"], "abcd/efgh"),
     "$.request_id", "pattern", "does not match"),
    ("request id too short", "command", command, setp(["request_id"], "abc1234"),
     "$.request_id", "pattern", "does not match"),
    ("request id too long", "response", response, setp(["request_id"], "a" * 65),
     "$.request_id", "pattern", "does not match"),
    ("command with a schema field", "command", command, setp(["schema"], "firegate/command"),
     "$", "additionalProperties", "'schema' was unexpected"),
    ("command without target", "command", command, setp(["target"], DELETE),
     "$", "required", "'target' is a required property"),
    ("command target a detector", "command", command, setp(["target"], "smoke-101-hall"),
     "$.target", "pattern", "does not match"),
    ("command target an integer", "command", command, setp(["target"], 12),
     "$.target", "type", "12 is not of type 'string'"),
    ("command at in 1999", "command", command, setp(["at"], 930000000000),
     "$.at", "minimum", "less than the minimum"),
    ("empty operator", "command", command, setp(["operator"], ""),
     "$.operator", "minLength", "''"),
]


class UplinkSchemaTest(unittest.TestCase):
    def test_schemas_are_valid_2020_12_and_strict(self):
        for kind in uplink_schemas.KINDS:
            with self.subTest(kind=kind):
                s = uplink_schemas.schema(kind)
                Draft202012Validator.check_schema(s)
                self.assertEqual(s["$schema"], "https://json-schema.org/draft/2020-12/schema")
                self.assertEqual(s["$id"],
                                 f"https://firegate.invalid/schema/uplink/{kind}.schema.json")
                self.assertTrue(s.get("description"))
                # additionalProperties: false on every object type with properties, at any
                # depth (conditions under if/then/else need not repeat it).
                for where, node in walk(s):
                    if isinstance(node, dict) and "properties" in node and (
                            node.get("type") == "object" or "object" in (node.get("type") or [])):
                        self.assertIs(node.get("additionalProperties"), False, f"{kind} {where}")

    def test_schema_names(self):
        for kind in uplink_schemas.KINDS:
            props = uplink_schemas.schema(kind)["properties"]
            if kind in ("command", "query"):  # the platform's: the topic says what they are
                self.assertNotIn("schema", props)
            else:
                self.assertEqual(props["schema"], {"const": f"firegate/{kind}"})
                self.assertEqual(props["version"], {"const": 1})

    def test_realistic_messages_match(self):
        for name, (kind, make) in VALID.items():
            with self.subTest(name):
                uplink_schemas.validate(kind, make())
        self.assertEqual(uplink_schemas.check_all((k, m()) for k, m in VALID.values()),
                         len(VALID))

    def test_json_text_is_decoded_strictly(self):
        uplink_schemas.validate("heartbeat", json.dumps(heartbeat()).encode())
        uplink_schemas.validate("command", json.dumps(command(), ensure_ascii=False))
        with self.assertRaisesRegex(AssertionError, "duplicate key.*'at'"):
            uplink_schemas.validate("command", json.dumps(command())[:-1] + f', "at": {AT}}}')
        with self.assertRaisesRegex(AssertionError, "NaN is not JSON"):
            uplink_schemas.validate("heartbeat", json.dumps(heartbeat()).replace("86400", "NaN"))
        with self.assertRaisesRegex(AssertionError, "not UTF-8"):
            uplink_schemas.validate("heartbeat", b'{"gateway": "\xff"}')
        with self.assertRaises(ValueError):
            uplink_schemas.validate("alarm", alert())

    def test_docs_command_and_query_examples_match(self):
        blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
        self.assertEqual(len(blocks), 2, "docs/uplink.md has two JSON examples")
        uplink_schemas.validate("command", blocks[0])
        uplink_schemas.validate("query", blocks[1])

    def test_enumerations_are_the_docs(self):
        rows = {}
        for line in DOC.read_text(encoding="utf-8").splitlines():
            m = re.match(r"\| `(\w+)` \|(.*)$", line)
            if m:
                rows[m.group(1)] = m.group(2)
        props = uplink_schemas.schema("alert")["properties"]

        def words(text):
            return re.findall(r"`([a-z_]+)`", text)

        self.assertEqual(words(rows["event"].split("|")[0]), props["event"]["enum"])
        self.assertEqual(words(rows["verification"].split("|")[0]),
                         props["verification"]["enum"])
        self.assertEqual(words(rows["fault"]), props["fault"]["enum"][:-1])
        self.assertEqual(words(rows["flags"]), props["flags"]["items"]["enum"])
        kinds = rows["detectors"].split("`kind` is")[1]
        self.assertEqual(words(kinds),
                         uplink_schemas.schema("alert")["$defs"]["detector"]["properties"]
                         ["kind"]["enum"])
        self.assertEqual(list(uplink_schemas.schema("stats")["properties"]["faults"]
                              ["properties"]), props["fault"]["enum"][:-1])

    def test_an_alert_the_store_could_not_take_is_valid_as_unstored(self):
        m = alert()
        m.update(seq=None, incident=None, stored=False)
        uplink_schemas.validate("alert", m)

    def test_statistics_sent_straight_are_valid_as_unstored(self):
        m = stats()
        m.update(seq=None, stored=False)
        uplink_schemas.validate("stats", m)

    def test_wrong_messages_are_refused_for_the_right_reason(self):
        self.assertGreaterEqual(len(INVALID), 15)
        for name, kind, make, change, path, keyword, words in INVALID:
            with self.subTest(name):
                m = make()
                uplink_schemas.validate(kind, m)
                change(m)
                errs = uplink_schemas.errors(kind, m)
                self.assertIn((path, keyword), [(p, k) for p, k, _ in errs], errs)
                self.assertTrue(any(p == path and k == keyword and words in text
                                    for p, k, text in errs), errs)
                with self.assertRaises(AssertionError) as caught:
                    uplink_schemas.validate(kind, m)
                self.assertIn(f"{kind} {path}: [{keyword}]", str(caught.exception))

    def test_check_all_reports_every_bad_message(self):
        bad = alert()
        bad["occupancy"]["citizen_id"] = "001190012345"
        worse = command()
        worse["request_id"] = "a/b"
        with self.assertRaises(AssertionError) as caught:
            uplink_schemas.check_all([("heartbeat", heartbeat()), ("alert", bad),
                                      ("command", worse)])
        text = str(caught.exception)
        self.assertIn("2 of 3 uplink messages", text)
        self.assertIn("message 1: alert message", text)
        self.assertIn("citizen_id", text)
        self.assertIn("message 2: command message", text)
        self.assertIn("command $.request_id: [pattern]", text)
        self.assertNotIn("message 0", text)


def walk(node, where="#"):
    yield where, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{where}/{i}")


# --- The platform broker's ACL ----------------------------------------------------------------

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PUB, SUB = "mosquitto_pub", "mosquitto_sub"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)


def make_certificates(d, clients):
    """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate per name in
    @clients (its CN), in directory @d."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", d / "ca.key", "-out", d / "ca.pem", "-days", "2",
            "-subj", "/CN=firegate platform test CA")
    for cn, name, ext in [("127.0.0.1", "server", "subjectAltName=IP:127.0.0.1"),
                          *[(c, c, "extendedKeyUsage=clientAuth") for c in clients]]:
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl("req", *ec, "-keyout", d / f"{name}.key", "-out", d / f"{name}.csr",
                "-subj", f"/CN={cn}")
        openssl("x509", "-req", "-in", d / f"{name}.csr", "-CA", d / "ca.pem", "-CAkey",
                d / "ca.key", "-CAcreateserial", "-out", d / f"{name}.pem", "-days", "2",
                "-extfile", d / f"{name}.ext")


def broker_config(example, port, d, acl):
    """examples/upstream-mosquitto.conf with this test's port, files and no persistence; each
    setting replaced must be in the example exactly once."""
    replace = {
        "listener": f"listener {port} 127.0.0.1",
        "cafile": f"cafile {d / 'ca.pem'}",
        "certfile": f"certfile {d / 'server.pem'}",
        "keyfile": f"keyfile {d / 'server.key'}",
        "acl_file": f"acl_file {acl}",
        "persistence": "persistence false",
        "persistence_location": None,
    }
    seen, out = [], []
    for line in example.splitlines():
        key = line.split(" ", 1)[0] if line and not line.startswith("#") else None
        if key in replace:
            seen.append(key)
            if replace[key] is not None:
                out.append(replace[key])
        else:
            out.append(line)
    missing = sorted(k for k in replace if seen.count(k) != 1)
    if missing:
        raise AssertionError(f"examples/upstream-mosquitto.conf: not exactly one {missing}")
    out.append("log_dest stderr")
    if os.geteuid() == 0:
        out.append("user root")
    return "\n".join(out) + "\n"


class Subscriber:
    """mosquitto_sub as @user, its "topic payload" lines read on a thread."""

    def __init__(self, test, user, *topics):
        self.test = test
        argv = [SUB, *test.client_args(user), "-i", f"sub-{user}-{uuid.uuid4().hex[:8]}",
                "-q", "1", "-v"]
        for t in topics:
            argv += ["-t", t]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = queue.Queue()
        self.got = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def until(self, line, timeout=5):
        """Every line received up to and including @line; fails after @timeout seconds."""
        got, deadline = [], time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {line!r} within {timeout} s; got {got}; "
                                     f"{self.proc.stderr.read() if self.proc.poll() else ''}")
            try:
                got.append(self.lines.get(timeout=left))
            except queue.Empty:
                continue
            if got[-1] == line:
                return got

    def ready(self, user, topic):
        """Waits until the subscription is in place: @user publishes on @topic until it comes
        back."""
        for i in range(50):
            marker = f"ready-{i}"
            self.test.publish(user, topic, marker)
            try:
                self.until(f"{topic} {marker}", timeout=0.2)
                return
            except AssertionError:
                continue
        raise AssertionError(f"the subscription of {topic} never became ready")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


class UpstreamAclTest(unittest.TestCase):
    USERS = ("gw-a", "gw-b", "city-platform", "intruder")

    @classmethod
    def setUpClass(cls):
        cls.dir = Path(tempfile.mkdtemp(prefix="firegate-upstream-acl-"))
        try:
            make_certificates(cls.dir, cls.USERS)
            cls.port = free_port()
            conf = cls.dir / "mosquitto.conf"
            example = (ROOT / "examples" / "upstream-mosquitto.conf").read_text()
            conf.write_text(broker_config(example, cls.port, cls.dir,
                                          ROOT / "examples" / "upstream-acl.conf"))
            cls.log = open(cls.dir / "mosquitto.log", "w+")
            cls.broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)],
                                          stdout=subprocess.DEVNULL, stderr=cls.log)
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", cls.port), timeout=0.2):
                        break
                except OSError:
                    if cls.broker.poll() is not None or time.monotonic() > deadline:
                        cls.log.seek(0)
                        raise RuntimeError(f"mosquitto did not start:\n{cls.log.read()}")
                    time.sleep(0.05)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        broker = getattr(cls, "broker", None)
        if broker and broker.poll() is None:
            broker.terminate()
            broker.wait(timeout=10)
        if getattr(cls, "log", None):
            cls.log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.subs = []

    def tearDown(self):
        for s in self.subs:
            s.stop()

    def client_args(self, user):
        d = self.dir
        return ["-h", "127.0.0.1", "-p", str(self.port), "--cafile", str(d / "ca.pem"),
                "--cert", str(d / f"{user}.pem"), "--key", str(d / f"{user}.key")]

    def publish(self, user, topic, payload, *more):
        """Publishes at QoS 1 as @user (the CN of its certificate); a publish the ACL denies
        is dropped by the broker without a word to an MQTT 3.1.1 client."""
        subprocess.run([PUB, *self.client_args(user), "-q", "1", "-t", topic, "-m", payload,
                        *more], check=True, capture_output=True, timeout=10)

    def subscribe(self, user, *topics):
        s = Subscriber(self, user, *topics)
        self.subs.append(s)
        return s

    def test_no_certificate_no_connection(self):
        done = subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(self.port), "--cafile",
                               str(self.dir / "ca.pem"), "-q", "1", "-t",
                               "firegate/v1/gw-a/alert", "-m", "x", "-u", "gw-a"],
                              capture_output=True, text=True, timeout=10)
        self.assertNotEqual(done.returncode, 0)

    def test_a_gateway_publishes_only_under_its_own_id(self):
        platform = self.subscribe("city-platform", "firegate/v1/#")
        platform.ready("gw-a", "firegate/v1/gw-a/heartbeat")
        for topic in ("alert", "stats", "status", "heartbeat", "resp/req-0001"):
            self.publish("gw-a", f"firegate/v1/gw-a/{topic}", "own")
        self.publish("gw-a", "firegate/v1/gw-b/alert", "forged")
        self.publish("gw-a", "firegate/v1/gw-a/cmd/city-platform/ack", "forged")
        self.publish("gw-a", "firegate/v1/gw-a/resp/a/b", "forged")
        self.publish("gw-a", "firegate/v1/gw-a/other", "forged")
        self.publish("gw-b", "firegate/v1/gw-b/alert", "end")
        got = platform.until("firegate/v1/gw-b/alert end")
        self.assertEqual(got, [f"firegate/v1/gw-a/{t} own" for t in
                               ("alert", "stats", "status", "heartbeat", "resp/req-0001")]
                         + ["firegate/v1/gw-b/alert end"])

    def test_the_platform_commands_a_gateway(self):
        gw = self.subscribe("gw-a", "firegate/v1/gw-a/cmd/#")
        gw.ready("city-platform", "firegate/v1/gw-a/cmd/city-platform/ack")
        body = json.dumps(command(), separators=(",", ":"))
        self.publish("city-platform", "firegate/v1/gw-a/cmd/city-platform/ack", body)
        self.assertEqual(gw.until(f"firegate/v1/gw-a/cmd/city-platform/ack {body}"),
                         [f"firegate/v1/gw-a/cmd/city-platform/ack {body}"])
        # The platform writes nothing but commands.
        self.publish("city-platform", "firegate/v1/gw-a/alert", "forged")
        self.publish("city-platform", "firegate/v1/gw-a/cmd/gw-a/ack", "forged")
        self.publish("city-platform", "firegate/v1/gw-a/cmd/city-platform/reset", "end")
        self.assertEqual(gw.until("firegate/v1/gw-a/cmd/city-platform/reset end"),
                         ["firegate/v1/gw-a/cmd/city-platform/reset end"])

    def test_no_one_else_speaks_for_the_platform(self):
        gw = self.subscribe("gw-a", "firegate/v1/gw-a/cmd/#")
        gw.ready("city-platform", "firegate/v1/gw-a/cmd/city-platform/ack")
        self.publish("intruder", "firegate/v1/gw-a/cmd/city-platform/ack", "forged")
        self.publish("gw-b", "firegate/v1/gw-a/cmd/city-platform/silence", "forged")
        # The certificate names the user: a user name in CONNECT changes nothing.
        self.publish("intruder", "firegate/v1/gw-a/cmd/city-platform/reset", "forged",
                     "-u", "city-platform")
        self.publish("intruder", "firegate/v1/gw-a/cmd/intruder/ack", "own-name")
        self.assertEqual(gw.until("firegate/v1/gw-a/cmd/intruder/ack own-name"),
                         ["firegate/v1/gw-a/cmd/intruder/ack own-name"])

    def test_a_gateway_reads_no_other_gateways_commands(self):
        gw = self.subscribe("gw-a", "firegate/v1/+/cmd/#")
        gw.ready("city-platform", "firegate/v1/gw-a/cmd/city-platform/ack")
        self.publish("city-platform", "firegate/v1/gw-b/cmd/city-platform/ack", "not-for-a")
        self.publish("city-platform", "firegate/v1/gw-a/cmd/city-platform/ack", "end")
        self.assertEqual(gw.until("firegate/v1/gw-a/cmd/city-platform/ack end"),
                         ["firegate/v1/gw-a/cmd/city-platform/ack end"])


if __name__ == "__main__":
    unittest.main()
