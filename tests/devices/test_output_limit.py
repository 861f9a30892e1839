"""A device that prints without end: the session keeps the first max_output_bytes, fails the command with
output-limit and closes; memory stays bounded (a sanity bound well above the cap, not a measurement)."""

from __future__ import annotations

import errno
import random
import resource
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.samples import Failure
from edgeops.fleet.on_demand import OnDemandTransport
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites

pytestmark = pytest.mark.lab

LAB_SSH_PORT = 2222
CAP = 1024 * 1024
FLOOD_MIB = 128


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    for attempt in range(8):
        identities = relocate(build_fleet(synthetic_sites(1), 5, ssh_port=LAB_SSH_PORT), random.randrange(100, 250))
        lab = Lab(identities, lab_dir=tmp_path / f"lab{attempt}", ssh_port=LAB_SSH_PORT, gnmi=False)
        try:
            await lab.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        break
    yield lab
    await lab.stop()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def test_a_flooding_device_is_cut_off_at_the_cap_and_memory_stays_bounded(lab: Lab, tmp_path: Path) -> None:
    inventory = lab.inventory()
    device = next(d for d in inventory.devices if d.name == "alcala-leaf1")
    transport = OnDemandTransport(
        inventory, known_hosts=KnownHosts(tmp_path / "known_hosts", user_files=()), max_output_bytes=CAP
    )
    try:
        first = await transport.run_command(device, "show version", timeout_s=60)
        assert first.ok, first.reason
        await lab.inject("alcala-leaf1", "ssh-flood", mib=FLOOD_MIB)
        before = peak_rss_mib()
        flooded = await transport.run_command(device, "show version", timeout_s=60)
        grown = peak_rss_mib() - before
        assert not flooded.ok and flooded.failure is Failure.OUTPUT_LIMIT
        assert "output over the limit" in flooded.reason
        assert 0 < len(flooded.output.encode()) <= CAP
        assert flooded.output.lstrip().startswith("flood: a device printing without end")
        assert grown < 64, f"peak RSS grew {grown:.0f} MiB for a {FLOOD_MIB} MiB flood with a 1 MiB cap"
        again = await transport.run_command(device, "show version", timeout_s=60)  # the session is opened again
        assert again.ok, again.reason
    finally:
        await transport.aclose()
