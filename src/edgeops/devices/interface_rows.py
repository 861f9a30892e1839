"""Interface rows and batches: the flat form of interface samples that gNMI decoding and SSH polling hand the
fleet store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgeops.devices.samples import COUNTER_FIELDS, STATE_FIELDS, InterfaceSample

# A row is the state fields, then the counters (InterfaceCounters' order). Decoding fills one list per interface
# instead of building a sample, so a whole notification reaches the store without any.
INTERFACE_ROW_FIELDS: tuple[str, ...] = STATE_FIELDS + COUNTER_FIELDS
ROW_INDEX: dict[str, int] = {name: index for index, name in enumerate(INTERFACE_ROW_FIELDS)}
COUNTERS_AT = len(STATE_FIELDS)  # where the counters start in a row
ROW_LENGTH = len(INTERFACE_ROW_FIELDS)

InterfaceRow = list[Any]


def interface_row(sample: InterfaceSample) -> InterfaceRow:
    """The row of a sample."""
    return [getattr(sample, name) for name in INTERFACE_ROW_FIELDS]


def row_sample(device: str, name: str, timestamp: float, row: InterfaceRow) -> InterfaceSample:
    """The sample of a row."""
    return InterfaceSample(device, name, timestamp, **dict(zip(INTERFACE_ROW_FIELDS, row, strict=True)))


@dataclass(frozen=True, slots=True)
class InterfaceBatch:
    """Interfaces of one device at one instant, as rows by interface name: the one shape in which interface data
    reaches the fleet store, from a gNMI notification and from an SSH poll alike.

    A row holds INTERFACE_ROW_FIELDS in order, None where the source said nothing (the store keeps the last known
    value). The whole batch is one change in the store: a device's notification carries all its interfaces.
    """

    device: str
    timestamp: float  # unix time the device stamped (or we received) the values
    rows: dict[str, InterfaceRow]

    @classmethod
    def of(cls, *samples: InterfaceSample) -> InterfaceBatch:
        """Samples of one device at one instant as one batch."""
        if not samples:
            raise ValueError("a batch needs at least one sample (its device and instant)")
        first = samples[0]
        device, timestamp = first.device, first.timestamp
        if any(sample.device != device or sample.timestamp != timestamp for sample in samples):
            raise ValueError("a batch holds samples of one device at one instant")
        return cls(device, timestamp, {sample.name: interface_row(sample) for sample in samples})

    def samples(self) -> tuple[InterfaceSample, ...]:
        """The rows as InterfaceSamples (fields the source did not carry are None)."""
        device, timestamp = self.device, self.timestamp
        return tuple(row_sample(device, name, timestamp, row) for name, row in self.rows.items())
