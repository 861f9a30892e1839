"""The lab claims the releases whose models are tabled (SR Linux 25.3, SR OS 25.10) wherever it names a release."""

from __future__ import annotations

import re

import pytest
from pygnmi.spec.v080 import gnmi_pb2

from conformance.served import identity, lab_model
from edgeops.lab.faults import FaultState
from edgeops.lab.servers.gnmi import CompiledSubscription, NotificationShaper, capabilities_for
from edgeops.lab.servers.gnmi_tree import DeviceTree
from edgeops.lab.srlinux.cli import SrLinuxCli
from edgeops.lab.sros.cli import SrosCli
from edgeops.lab.topology import build_fleet

SRLINUX_RELEASE = re.compile(r"^v25\.3\.\d+$")
SROS_RELEASE = re.compile(r"^C-25\.10\.R\d+$")
# Anything that reads as a release in text the lab prints or serves.
SRLINUX_ANY = re.compile(r"\bv\d+\.\d+\.\d+\b")
SROS_ANY = re.compile(r"\b[A-Z]-\d+\.\d+\.R\d+(?:-\d+)?\b")


def test_every_demo_device_runs_a_tabled_release() -> None:
    wrong = [
        f"{d.name}: {d.version}"
        for d in build_fleet()
        if not (SROS_RELEASE if d.platform.is_sros else SRLINUX_RELEASE).match(d.version)
    ]
    assert wrong == []


def _gnmi_text(model_name: str, *paths: tuple[str, str]) -> str:
    """The JSON of Get on `paths` ((origin, path) pairs) from a lab device, as one text."""
    model = lab_model(model_name, "healthy")
    tree = DeviceTree(model)
    shaper = NotificationShaper(model.identity.platform, gnmi_pb2.JSON_IETF, subscribe=False)
    texts = []
    for origin, path in paths:
        elems = [(name, {}) for name in path.strip("/").split("/")]
        unit = CompiledSubscription(tree, origin, elems, gnmi_pb2.SAMPLE, 0.0, _matches=tree.resolve(origin, elems))
        for note in shaper.updates(unit.read(), 0):
            texts += [update.val.json_ietf_val.decode() for update in note.update]
    assert texts, paths
    return "\n".join(texts)


def test_srlinux_names_25_3_in_gnmi_and_on_its_cli() -> None:
    model = lab_model("7220 IXR-D2L", "healthy")
    capabilities = capabilities_for(model.identity)
    native_dates = {m.version for m in capabilities.supported_models if m.name.startswith("urn:nokia.com:srlinux")}
    assert native_dates and all(date.startswith("2025-03") for date in native_dates)
    served = _gnmi_text(
        "7220 IXR-D2L",
        ("srl_nokia-system", "/system/information/version"),
        ("openconfig", "/system/state/software-version"),
    )
    cli = SrLinuxCli(model, FaultState())
    printed = "\n".join(
        cli.execute(command).output
        for command in (
            "show version",
            "show version | as json",
            "info from state /system information",
            "show platform control A detail",
        )
    )
    releases = set(SRLINUX_ANY.findall(served + printed))
    assert releases and all(SRLINUX_RELEASE.match(release) for release in releases), releases


@pytest.mark.parametrize("classic", [False, True], ids=["md-cli", "classic"])
def test_sros_names_25_10_in_gnmi_and_on_its_cli(classic: bool) -> None:
    model = lab_model("7750 SR-7", "healthy")
    capabilities = capabilities_for(model.identity)
    nokia = {m.version for m in capabilities.supported_models if m.organization == "Nokia"}
    assert nokia and all(re.match(r"^25\.10\.R\d+$", version) for version in nokia), nokia
    served = _gnmi_text(
        "7750 SR-7", ("", "/state/system/version/version-number"), ("openconfig", "/system/state/software-version")
    )
    cli = SrosCli(model, FaultState(), classic=classic)
    printed = "\n".join(
        cli.execute(command).output for command in ("show version", "show system information", "show card")
    )
    releases = set(SROS_ANY.findall(served + printed))
    assert releases and all(SROS_RELEASE.match(release) for release in releases), releases
    assert identity("7750 SR-7").version in printed
