"""Fixtures for engine tests against the device lab: labs in their own address blocks, engines, and waiting."""

from __future__ import annotations

import errno
import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from edgeops.devices.backoff import BackoffPolicy
from edgeops.devices.supervisor import SupervisorSettings
from edgeops.fleet.engine import EngineSettings, FleetEngine
from edgeops.inventory.model import Inventory
from edgeops.lab.model import DeviceIdentity
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, older_release, synthetic_sites
from edgeops.paths import AppPaths

LAB_SSH_PORT = 2222
LAB_GNMI_PORT = 57400

# Short intervals so faults show and heal within seconds; generous timeouts for a busy machine.
FAST = EngineSettings(
    SupervisorSettings(
        counter_interval_s=1.0,
        health_interval_s=2.0,
        ssh_poll_interval_s=1.0,
        stall_timeout_s=6.0,
        backoff=BackoffPolicy(base_s=0.2, cap_s=2.0),
        severe_backoff=BackoffPolicy(base_s=1.0, cap_s=5.0, floor_s=1.0 / 3),
        connect_timeout_s=10.0,
        command_timeout_s=10.0,
        keepalive_interval_s=5.0,
        gnmi_fallback_after=2,
        gnmi_retry_s=3.0,
    ),
    user_known_hosts=(),
    seed=7,
)

_blocks = itertools.count(random.randrange(150))


@pytest.fixture
def fast_settings() -> EngineSettings:
    """The settings `start_engine` uses by default, for a test that changes one of them."""
    return FAST


def lab_identities(
    sites: int, devices_per_site: int, older_releases: Mapping[str, Sequence[str]] | None = None
) -> list[DeviceIdentity]:
    """Demo-fleet identities in a fresh 127.<block>.x.y range (blocks 100..249, as the other lab tests use);
    `older_releases`: devices left on an older release, with the path prefixes it does not serve."""
    block = 100 + next(_blocks) % 150
    fleet = build_fleet(synthetic_sites(sites), devices_per_site, ssh_port=LAB_SSH_PORT, gnmi_port=LAB_GNMI_PORT)
    older = older_releases or {}
    fleet = [older_release(i, older[i.name]) if i.name in older else i for i in fleet]
    return relocate(fleet, block)


LabFactory = Callable[..., Awaitable[Lab]]
EngineFactory = Callable[..., Awaitable[FleetEngine]]


@pytest.fixture
async def start_lab(tmp_path: Path) -> AsyncIterator[LabFactory]:
    """`await start_lab(sites=1, devices_per_site=5, older_releases=None, **lab_options)`: a running lab, stopped
    after the test."""
    labs: list[Lab] = []

    async def start(
        *,
        sites: int = 1,
        devices_per_site: int = 5,
        older_releases: Mapping[str, Sequence[str]] | None = None,
        **options: Any,
    ) -> Lab:
        options.setdefault("ssh_port", LAB_SSH_PORT)
        options.setdefault("gnmi_port", LAB_GNMI_PORT)
        for attempt in range(8):
            lab = Lab(
                lab_identities(sites, devices_per_site, older_releases),
                lab_dir=tmp_path / f"lab{len(labs)}-{attempt}",
                **options,
            )
            try:
                await lab.start()
            except OSError as error:  # another run holds this block: take the next one
                if error.errno == errno.EADDRINUSE and attempt < 7:
                    continue
                raise
            labs.append(lab)
            return lab
        raise AssertionError("no free address block")  # pragma: no cover

    yield start
    for lab in reversed(labs):
        await lab.stop()


@pytest.fixture
async def start_engine(tmp_path: Path) -> AsyncIterator[EngineFactory]:
    """`await start_engine(inventory, settings=FAST)`: a started FleetEngine, stopped after the test."""
    engines: list[FleetEngine] = []

    async def start(inventory: Inventory, settings: EngineSettings = FAST, **options: Any) -> FleetEngine:
        root = tmp_path / f"engine{len(engines)}"
        paths = AppPaths(root / "config", root / "state", root / "logs", root / "inventory.yaml")
        engine = FleetEngine(inventory, paths, settings=settings, **options)
        engines.append(engine)
        await engine.start()
        return engine

    yield start
    for engine in reversed(engines):
        await engine.stop()
