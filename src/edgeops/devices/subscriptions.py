"""What becomes of each subscription group of a device: its state, and the device's reason when it refused it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The groups every path map has, in the order they are shown (see devices.gnmi_paths.PathMap.subscriptions).
GROUP_ORDER = ("counters", "oper-state", "health", "alarms")


class SubscriptionState(StrEnum):
    """The state of one subscription group (one Subscribe call) of one device."""

    PENDING = "pending"  # asked for (or waiting for the gNMI session): no answer yet
    LIVE = "live"  # the device answered and data flows
    STALE = "stale"  # live, but a sampled group has sent nothing for longer than its interval allows
    REJECTED = "rejected"  # the device refused the group's paths; nothing serves the group yet
    POLLED = "polled"  # served by SSH polling: gNMI refused the group, or the device has no usable gNMI
    DOWN = "down"  # no call: the gNMI session is down and being reconnected
    NO_PATHS = "no-paths"  # nothing to subscribe to on this platform (e.g. alarms derived from component state)

    @property
    def settled(self) -> bool:
        """Whether the group has an answer (a waiting one has not)."""
        return self not in (SubscriptionState.PENDING, SubscriptionState.DOWN)


# The gRPC status names a device refuses a path with; other errors before any data count as refusals too.
REFUSAL_CODES = frozenset({"INVALID_ARGUMENT", "NOT_FOUND", "UNIMPLEMENTED"})


@dataclass(frozen=True)
class GroupRejection:
    """A device refused a group's Subscribe: its gRPC status, its own words, and the software it ran then."""

    code: str  # the gRPC status name, e.g. "INVALID_ARGUMENT"; "" for an error carried in a response
    text: str  # the device's error text, as it sent it (untrusted: shown only through the sanitiser)
    release: str  # what the device ran when it refused (see DeviceCapabilities.release)
    at: float  # unix time of the refusal
