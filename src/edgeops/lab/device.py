"""One simulated device as its servers see it: who it is, its state model, and its faults."""

from __future__ import annotations

from dataclasses import dataclass, field

from edgeops.lab.faults import FaultState
from edgeops.lab.model import DeviceIdentity, DeviceModel


@dataclass
class LabDevice:
    identity: DeviceIdentity
    model: DeviceModel
    faults: FaultState = field(default_factory=FaultState)

    @property
    def name(self) -> str:
        return self.identity.name
