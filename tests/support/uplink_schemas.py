# SPDX-License-Identifier: GPL-2.0-or-later
"""The uplink's JSON Schemas (schema/uplink/, docs/uplink.md) for tests: validate(kind, payload)
checks one message, check_all(messages) a list of them, and both raise AssertionError naming
every error by its place in the message ($.occupancy.residents) and the keyword that refused it.

Kinds: alert, stats, status, heartbeat and response (what the gateway sends), command (what the
platform sends). A payload is a decoded JSON value, or the JSON text (str or bytes) as it
travelled, which is then decoded strictly: no duplicate keys, no NaN or Infinity.

Debian's python3-jsonschema (4.10 and later), Draft 2020-12 with a FormatChecker.
"""

import functools
import json
import os
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

KINDS = ("alert", "stats", "status", "heartbeat", "response", "command", "query")


def schema_dir():
    """schema/uplink of FIREGATE_SOURCE_DIR, or of the tree this file is in."""
    root = os.environ.get("FIREGATE_SOURCE_DIR")
    root = Path(root) if root else Path(__file__).resolve().parents[2]
    return root / "schema" / "uplink"


def schema_path(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown uplink message kind {kind!r}; "
                         f"expected one of {', '.join(KINDS)}")
    return schema_dir() / f"{kind}.schema.json"


@functools.lru_cache(maxsize=None)
def schema(kind):
    """The schema of @kind, as a dict (loaded once)."""
    with open(schema_path(kind), encoding="utf-8") as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def validator(kind):
    return Draft202012Validator(schema(kind), format_checker=FormatChecker())


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    dups = sorted({k for k in keys if keys.count(k) > 1})
    if dups:
        raise AssertionError(f"duplicate key(s) {', '.join(map(repr, dups))} in a JSON object")
    return dict(pairs)


def _no_constant(name):
    raise AssertionError(f"{name} is not JSON")


def decode(payload):
    """@payload itself, or decoded when it is JSON text (str, bytes)."""
    if isinstance(payload, (bytes, bytearray)):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError(f"not UTF-8: {e}") from None
    if isinstance(payload, str):
        try:
            return json.loads(payload, object_pairs_hook=_no_duplicates,
                              parse_constant=_no_constant)
        except json.JSONDecodeError as e:
            raise AssertionError(f"not JSON: {e}") from None
    return payload


def json_path(path):
    """$ and the keys and indexes of @path: $.detectors[0].id"""
    text = "$"
    for p in path:
        text += f"[{p}]" if isinstance(p, int) else f".{p}"
    return text


def errors(kind, payload):
    """Every error of @payload against the schema of @kind, as (path, keyword, message) sorted
    by path; empty when it is valid."""
    found = validator(kind).iter_errors(decode(payload))
    out = [(json_path(e.absolute_path), str(e.validator), e.message) for e in found]
    return sorted(out, key=lambda e: (e[0], e[1], e[2]))


def _describe(kind, errs):
    return "\n".join(f"  {kind} {path}: [{keyword}] {message}" for path, keyword, message in errs)


def validate(kind, payload):
    """Returns the decoded payload when it matches the schema of @kind; raises AssertionError
    listing every error otherwise."""
    value = decode(payload)
    errs = errors(kind, value)
    if errs:
        raise AssertionError(f"{kind} message does not match {schema_path(kind).name} "
                             f"({len(errs)} error{'s' if len(errs) > 1 else ''}):\n"
                             + _describe(kind, errs))
    return value


def check_all(messages):
    """Validates every (kind, payload) of @messages; raises one AssertionError for all the
    invalid ones (numbered from 0, in the order given). Returns how many were checked."""
    failures, n = [], 0
    for i, (kind, payload) in enumerate(messages):
        n += 1
        try:
            validate(kind, payload)
        except AssertionError as e:
            failures.append(f"message {i}: {e}")
    if failures:
        raise AssertionError(f"{len(failures)} of {n} uplink messages do not match their schema:\n"
                             + "\n".join(failures))
    return n
