"""The console's commands obey the output cap: EngineSettings.supervisor.max_output_bytes reaches every device's
SSH session, so a device that prints without end is cut off there as in `edgeops run`."""

from __future__ import annotations

import dataclasses

import pytest
from test_engine_lab import EngineFactory, LabFactory, all_up, eventually

from edgeops.defaults import MAX_OUTPUT_BYTES
from edgeops.devices.samples import Failure
from edgeops.devices.supervisor import SupervisorSettings
from edgeops.fleet.engine import EngineSettings

pytestmark = pytest.mark.lab

CAP = 256 * 1024


def test_the_default_cap_has_one_home() -> None:
    assert SupervisorSettings().max_output_bytes == MAX_OUTPUT_BYTES


async def test_a_flooding_device_is_cut_off_at_the_engines_cap(
    start_lab: LabFactory, start_engine: EngineFactory, fast_settings: EngineSettings
) -> None:
    # gNMI on: without it the supervisor polls over SSH, and a poll could be the "next command" the flood answers.
    lab = await start_lab()
    capped = dataclasses.replace(fast_settings.supervisor, max_output_bytes=CAP)
    engine = await start_engine(lab.inventory(), dataclasses.replace(fast_settings, supervisor=capped))
    await eventually(lambda: all_up(engine.store), what="every device up")
    await lab.inject("alcala-leaf1", "ssh-flood", mib=8)
    flooded = await engine.run_command("alcala-leaf1", "show version", timeout_s=30)
    assert not flooded.ok and flooded.failure is Failure.OUTPUT_LIMIT, flooded.reason
    assert 0 < len(flooded.output.encode()) <= CAP
