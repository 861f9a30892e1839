"""Enumeration values and bit names of the leaves the lab serves, which the schema tables do not carry.

Read from the same public models the tables come from: SR Linux `srl_nokia-common.yang` and
`srl_nokia-interfaces.yang` (nokia/srlinux-yang-models, tag v25.3.1), OpenConfig as SR Linux ships it (same tag),
SR OS `nokia-types-*.yang` and `nokia-state-port.yang` (nokia/7x50_YangModels, latest_sros_25.10). Keyed by the
table's type column for typedefs, and by the bare schema path for enumerations declared inline (type column
`enumeration`). A leaf whose type is in neither is checked only for being a JSON string.
"""

from __future__ import annotations

ENUMERATIONS_BY_TYPE: dict[str, frozenset[str]] = {
    "srl_nokia-common:admin-state": frozenset({"enable", "disable"}),
    "srl_nokia-common:oper-state": frozenset(
        {
            "up",
            "down",
            "empty",
            "downloading",
            "booting",
            "starting",
            "failed",
            "synchronizing",
            "upgrading",
            "low-power",
            "degraded",
            "warm-reboot",
        }
    ),
    "srl_nokia-interfaces:port-oper-down-reason": frozenset(
        {
            "port-admin-disabled",
            "mda-admin-disabled",
            "transceiver-oper-down",
            "port-not-present",
            "mda-not-present",
            "phy-initializing",
            "lower-layer-down",
            "auto-negotiation-mismatch",
            "port-mtu-resource-exceeded",
            "unsupported-speed",
            "unsupported-fec",
            "other",
            "fabric-availability",
            "no-active-links",
            "min-link-threshold",
            "port-9-12-speed-mismatch",
            "lag-resource-exceeded",
            "lag-member-resource-exceeded",
            "standby-signaling",
            "interface-hold-time-up-active",
            "interface-reload-timer-active",
            "connector-down",
            "event-handler",
            "unsupported-breakout-port",
            "cfm-ccm-defect",
            "crc-monitor-fail-threshold",
            "symbol-monitor-fail-threshold",
            "link-loss-forwarding",
            "storm-control-action",
            "unsupported-num-channels-for-speed",
        }
    ),
    "nokia-types-sros:admin-state": frozenset({"enable", "disable"}),
    "nokia-types-port:port-oper-state": frozenset({"unknown", "up", "down", "diagnosing", "failed"}),
    "nokia-types-chassis:hw-oper-state": frozenset(
        {
            "unknown",
            "in-service",
            "out-of-service",
            "diagnosing",
            "failed",
            "booting",
            "empty",
            "provisioned",
            "unprovisioned",
            "upgrade",
            "downgrade",
            "in-service-upgrade",
            "in-service-downgrade",
            "reset-pending",
            "soft-reset",
            "pre-extension",
            "downloading",
            "power-save",
        }
    ),
    "nokia-types-chassis:chassis-class": frozenset({"router", "ethernet-satellite"}),
    "nokia-types-log:severity-level": frozenset({"cleared", "indeterminate", "critical", "major", "minor", "warning"}),
    "nokia-types-system:device-state": frozenset(
        {
            "unknown",
            "not-equipped",
            "ok",
            "failed",
            "out-of-service",
            "not-provisioned",
            "not-applicable",
            "formatting",
            "secure-erase",
        }
    ),
}

ENUMERATIONS_BY_PATH: dict[str, frozenset[str]] = {
    "/interface/oper-state": frozenset({"up", "down", "testing"}),
    "/interface/ethernet/port-speed": frozenset(
        {"10M", "100M", "1G", "10G", "25G", "40G", "50G", "100G", "200G", "400G", "800G", "1T"}
    ),
    "/interfaces/interface/state/admin-status": frozenset({"UP", "DOWN", "TESTING"}),
    "/interfaces/interface/state/oper-status": frozenset(
        {"UP", "DOWN", "TESTING", "UNKNOWN", "DORMANT", "NOT_PRESENT", "LOWER_LAYER_DOWN"}
    ),
}

# Enumerations too long to copy whole: the values the lab uses, each checked against the model by hand. A value
# missing here fails until someone has checked it (nokia-types-card.yang, sros-iom-type-state and
# sros-cpm-type-state).
KNOWN_MEMBERS_BY_TYPE: dict[str, frozenset[str]] = {
    "nokia-types-card:sros-iom-type-state": frozenset({"iom-1", "iom5-e"}),
    "nokia-types-card:sros-cpm-type-state": frozenset({"cpm-1", "cpm5"}),
}

# Bit names of `bits` leaves, by bare schema path.
BITS_BY_PATH: dict[str, frozenset[str]] = {
    "/state/port/down-reason": frozenset(
        {
            "unknown",
            "linkloss-fwd",
            "lag-member-port-standby",
            "eth-cfm-fault",
            "optical-tuning",
            "frequency-out-of-range",
            "frequency-not-configured",
            "crc-error",
            "internal-mac-tx-error",
            "efm-oam-down",
            "sym-mon-error",
            "oper-group-down",
            "sat-host-port-down",
            "sat-uplink-port-down",
        }
    ),
}


def allowed_values(type_name: str, bare_path: str) -> tuple[frozenset[str] | None, bool]:
    """(the values a leaf may take, whether that set is complete); None when the tables and this module do not know."""
    if type_name in ENUMERATIONS_BY_TYPE:
        return ENUMERATIONS_BY_TYPE[type_name], True
    if bare_path in ENUMERATIONS_BY_PATH:
        return ENUMERATIONS_BY_PATH[bare_path], True
    if type_name in KNOWN_MEMBERS_BY_TYPE:
        return KNOWN_MEMBERS_BY_TYPE[type_name], False
    return None, False
