"""The lab serves only what real devices have: every leaf of its gNMI trees, in every fault state, is a leaf of the
published models, and every value is encoded as its YANG type requires."""

from __future__ import annotations

import functools
import json

import pytest

from conformance.schema import Schema
from conformance.served import SCENARIOS, lab_model, served
from conformance.wire import Findings, NotificationChecker
from edgeops.lab.hardware import CATALOGUE
from edgeops.lab.srlinux.render import state_root, to_json_data

MODELS = tuple(CATALOGUE)
SRLINUX_MODELS = tuple(name for name, spec in CATALOGUE.items() if not spec.platform.is_sros)


@functools.cache
def findings(model: str, scenario: str) -> Findings:
    """What walking everything one model serves in one fault state found (shared by the tests below)."""
    device = lab_model(model, scenario)
    total = Findings()
    checkers: dict[tuple[str, bool], NotificationChecker] = {}
    for table, shape, notification in served(device):
        key = (table, shape.qualified_members)
        if key not in checkers:
            checkers[key] = NotificationChecker(Schema.load(table), qualified_members=shape.qualified_members)
        checker = checkers[key]
        before = len(checker.findings.path_problems), len(checker.findings.encoding_problems)
        checker.check(notification)
        # Say which shape a problem was seen in.
        found = checker.findings
        found.path_problems[before[0] :] = [f"[{shape}] {p}" for p in found.path_problems[before[0] :]]
        found.encoding_problems[before[1] :] = [f"[{shape}] {p}" for p in found.encoding_problems[before[1] :]]
    for checker in checkers.values():
        total.leaves |= checker.findings.leaves
        total.path_problems += checker.findings.path_problems
        total.encoding_problems += checker.findings.encoding_problems
    return total


def _distinct(problems: list[str]) -> list[str]:
    """Problems with list keys and JSON values folded, so one wrong leaf is reported once, not once per port."""
    return sorted(set(problems))


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("model", MODELS)
def test_every_served_leaf_is_in_the_published_model(model: str, scenario: str) -> None:
    found = findings(model, scenario)
    assert found.leaves, "nothing was served"
    assert _distinct(found.path_problems) == []


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("model", MODELS)
def test_every_served_value_is_encoded_as_its_yang_type_requires(model: str, scenario: str) -> None:
    assert _distinct(findings(model, scenario).encoding_problems) == []


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("model", SRLINUX_MODELS)
def test_the_srlinux_cli_state_tree_is_in_the_published_model(model: str, scenario: str) -> None:
    """`info from state / | as json`, which the SSH fallback reads, names only what the native models have."""
    device = lab_model(model, scenario)
    document = json.loads(json.dumps(to_json_data(state_root(device, device.now()))))
    # The CLI prints member names without modules, and identities as `info` shows them: how it prints an identity
    # in JSON is not in the tables, so only the gNMI tests hold identities to `module:identity`.
    checker = NotificationChecker(Schema.load("srlinux-native"), qualified_members=False, qualified_identities=False)
    checker.check_document(document)
    assert _distinct(checker.findings.path_problems) == []
    assert _distinct(checker.findings.encoding_problems) == []
