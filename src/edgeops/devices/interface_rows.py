"""Interface rows: the flat form of an InterfaceSample that gNMI decoding fills and the fleet store takes."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from edgeops.devices.samples import InterfaceSample

# The fields of a row, in InterfaceSample's order after (device, name, timestamp). Decoding fills one list per
# interface instead of building a sample, so a whole notification reaches the store without any.
INTERFACE_ROW_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(InterfaceSample))[3:]
ROW_INDEX: dict[str, int] = {name: index for index, name in enumerate(INTERFACE_ROW_FIELDS)}
COUNTERS_AT = ROW_INDEX["in_octets"]  # the eight counters are a row's last eight slots
ROW_LENGTH = len(INTERFACE_ROW_FIELDS)

InterfaceRow = list[Any]


def interface_row(sample: InterfaceSample) -> InterfaceRow:
    """The row of a sample."""
    return [getattr(sample, name) for name in INTERFACE_ROW_FIELDS]


def row_sample(device: str, name: str, timestamp: float, row: InterfaceRow) -> InterfaceSample:
    """The sample of a row."""
    return InterfaceSample(device, name, timestamp, *row)
