"""Interface rows: the flat form of an InterfaceSample that gNMI decoding fills and the fleet store takes."""

from __future__ import annotations

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
