"""The SSH polling fallback: parsers on realistic device text, the lab's CLI engines compared with their model,
and a poll over a real SSH session."""

from __future__ import annotations

import dataclasses
import errno
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edgeops.clock import ManualClock
from edgeops.devices.decode import derive_alarms
from edgeops.devices.errors import ConnectionLost, device_error_reason
from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.samples import CommandResult, ComponentStatus, Failure, Severity
from edgeops.devices.ssh import SshSession, SshTarget
from edgeops.devices.ssh_poll import (
    POLL_COMMANDS,
    SshPoller,
    label_values,
    parse_count,
    parse_srlinux_interfaces,
    parse_srlinux_platform,
    parse_srlinux_version,
    parse_sros_alarms,
    parse_sros_chassis,
    parse_sros_cpu,
    parse_sros_memory,
    parse_sros_port_detail,
    parse_sros_port_table,
    parse_sros_system_information,
    parse_sros_uptime,
    srlinux_state_document,
)
from edgeops.lab.faults import FaultState
from edgeops.lab.model import Counters, DeviceModel
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.srlinux.cli import SrLinuxCli
from edgeops.lab.sros.cli import SrosCli
from edgeops.lab.topology import DEMO_SITES, build_fleet, synthetic_sites
from edgeops.platforms import Platform

NOW = 1_795_000_000.0


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# -- values ---------------------------------------------------------------------------------------------------


def test_counts() -> None:
    assert parse_count("13738800") == 13_738_800
    assert parse_count("1,001,337") == 1_001_337
    assert parse_count(42) == 42
    assert parse_count("N/A") is None and parse_count(None) is None and parse_count(True) is None


def test_sros_label_value_pairs_keep_colons_inside_values() -> None:
    line = "Last State Change  : 12/03/2025 16:26:38        Hold time down   : 0 seconds"
    assert label_values(line) == {"Last State Change": "12/03/2025 16:26:38", "Hold time down": "0 seconds"}
    assert label_values("Configured Address : 0c:00:4e:ad:1f:01") == {"Configured Address": "0c:00:4e:ad:1f:01"}
    assert label_values("System Contact         :") == {"System Contact": ""}
    assert parse_sros_uptime("0 days, 00:43:21.05 (hr:min:sec)") == pytest.approx(2601.05)
    assert parse_sros_uptime("104 days, 18:47:32.33 (hr:min:sec)") == pytest.approx(104 * 86400 + 67652.33)


# -- SR Linux `| as json` -------------------------------------------------------------------------------------

SRL_INTERFACES = {
    "interface": [
        {
            "name": "ethernet-1/1",
            "description": "uplink to alcala-spine1",
            "admin-state": "enable",
            "mtu": 9232,
            "oper-state": "up",
            "last-change": "2025-12-03T16:26:38.033Z",
            "statistics": {
                "in-packets": "6120",
                "in-octets": "997159",
                "in-error-packets": "2",
                "in-discarded-packets": "1",
                "out-packets": "6002",
                "out-octets": "1009901",
                "out-error-packets": "0",
                "out-discarded-packets": "3",
                "carrier-transitions": "1",
            },
            "ethernet": {"port-speed": "25G"},
            "subinterface": [{"index": 0, "name": "ethernet-1/1.0", "oper-state": "up"}],
        },
        {
            "name": "ethernet-1/2",
            "admin-state": "disable",
            "oper-state": "down",
            "oper-down-reason": "port-admin-disabled",
            "ethernet": {"port-speed": "100G"},
        },
        {
            "name": "mgmt0",
            "admin-state": "enable",
            "oper-state": "up",
            "statistics": {"in-octets": 18446744073709551615},
        },
    ]
}


def test_srlinux_interfaces_from_json() -> None:
    samples = parse_srlinux_interfaces("leaf1", json.dumps(SRL_INTERFACES, indent=2) + "\n", NOW)
    assert [s.name for s in samples] == ["ethernet-1/1", "ethernet-1/2", "mgmt0"]  # no subinterfaces
    first = samples[0]
    assert (first.device, first.timestamp, first.admin_state, first.oper_state) == ("leaf1", NOW, "enable", "up")
    assert first.description == "uplink to alcala-spine1" and first.speed_bps == 25_000_000_000
    assert first.last_change == pytest.approx(utc("2025-12-03T16:26:38.033"))
    assert (first.in_octets, first.out_octets, first.in_packets, first.out_packets) == (997159, 1009901, 6120, 6002)
    assert (first.in_errors, first.out_errors, first.in_discards, first.out_discards) == (2, 0, 1, 3)
    second = samples[1]
    assert second.admin_state == "disable" and second.oper_state == "down" and second.in_octets is None
    assert samples[2].in_octets == 2**64 - 1


def test_srlinux_json_with_module_prefixes_or_without_the_list_wrapper() -> None:
    prefixed = {"srl_nokia-interfaces:interface": [{"name": "ethernet-1/3", "oper-state": "up"}]}
    assert [s.name for s in parse_srlinux_interfaces("d", json.dumps(prefixed), NOW)] == ["ethernet-1/3"]
    single = {"name": "ethernet-1/4", "oper-state": "down", "statistics": {"in-octets": "5"}}
    assert parse_srlinux_interfaces("d", json.dumps(single), NOW)[0].in_octets == 5
    with pytest.raises(ValueError):
        parse_srlinux_interfaces("d", "--{ running }--[  ]--", NOW)


def test_srlinux_platform_version_and_alarms() -> None:
    platform = {
        "platform": {
            "chassis": {"type": "7220 IXR-D3L", "oper-state": "up"},
            "control": [
                {
                    "slot": "A",
                    "temperature": {"instant": 36, "alarm-status": False},
                    "cpu": [{"index": "all", "total": {"instant": 12, "average-1": 14}}],
                    "memory": {"physical": "30714980000", "free": "23650534600", "utilization": 23},
                }
            ],
            "linecard": [{"slot": 1, "temperature": {"instant": 48, "alarm-status": True}}],
            "fan-tray": [{"id": 1, "oper-state": "up"}, {"id": 2, "oper-state": "down", "oper-reason": "failed"}],
            "power-supply": [{"id": 1, "oper-state": "up"}],
        }
    }
    fields = parse_srlinux_platform(json.dumps(platform))
    assert fields["chassis"] == "7220 IXR-D3L" and fields["cpu_pct"] == 12.0
    assert fields["memory_total"] == 30_714_980_000 and fields["memory_used"] == 30_714_980_000 - 23_650_534_600
    assert [(t.sensor, t.celsius, t.alarm) for t in fields["temperatures"]] == [
        ("control A", 36.0, False),
        ("linecard 1", 48.0, True),
    ]
    assert fields["fans"] == (ComponentStatus("fan-tray 1", "up"), ComponentStatus("fan-tray 2", "down", "failed"))
    assert fields["power_supplies"] == (ComponentStatus("power-supply 1", "up"),)

    version = {
        "basic system info": {
            "Hostname": "alcala-spine1",
            "Chassis Type": "7220 IXR-D3L",
            "Software Version": "v25.10.1",
            "Last Booted": "2025-12-03T16:26:38.033Z",
            "Total Memory": "16341768 kB",
            "Free Memory": "6341768 kB",
        }
    }
    fields = parse_srlinux_version(json.dumps(version))
    assert fields["hostname"] == "alcala-spine1" and fields["version"] == "v25.10.1"
    assert fields["boot_time"] == pytest.approx(utc("2025-12-03T16:26:38.033"))
    assert fields["memory_total"] == 16341768 * 1024 and fields["memory_used"] == 10_000_000 * 1024

    # SR Linux keeps no alarm list: the platform's state is what its alarms are derived from.
    alarms = derive_alarms("spine1", srlinux_state_document(platform["platform"], "platform"), NOW)
    assert sorted((a.resource, a.text, a.derived) for a in alarms) == [
        ("fan-tray 2", "fan-tray 2 oper-state is down", True),
        ("linecard 1", "linecard 1 temperature alarm-status is true", True),
    ]
    assert srlinux_state_document(platform, "platform") is platform


# -- SR OS text -----------------------------------------------------------------------------------------------

SROS_SHOW_PORT = """
===============================================================================
Ports on Slot 1
===============================================================================
Port          Admin Link Port    Cfg  Oper LAG/ Port Port Port   C/QS/S/XFP/
Id            State      State   MTU  MTU  Bndl Mode Encp Type   MDIMDX
-------------------------------------------------------------------------------
1/1/c1        Up         Link Up                          conn   100GBASE-LR4*
1/1/c1/1      Up    Yes  Up      8936 8936    - hybr dotq cgige
1/1/c2        Up         Link Up                          conn   100GBASE-LR4*
1/1/c2/1      Up    Yes  Up      8936 8936    1 netw null cgige
1/1/c3        Down       Down                             conn   100GBASE-LR4*
1/1/c3/1      Down  No   Down    8936 8936    - hybr dotq cgige
1/1/c4        Up         Link Up                          conn   QSFP28 *
1/1/c4/1      Up    No   Ghost   8936 8936    - netw null cgige

===============================================================================
Ports on Slot A
===============================================================================
Port          Admin Link Port    Cfg  Oper LAG/ Port Port Port   C/QS/S/XFP/
Id            State      State   MTU  MTU  Bndl Mode Encp Type   MDIMDX
-------------------------------------------------------------------------------
A/1           Up    Yes  Up      1514 1514    - netw null faste  MDI
===============================================================================
* indicates that the corresponding row element may have been truncated.
"""

SROS_SHOW_PORT_DETAIL = """
===============================================================================
Ethernet Interface
===============================================================================
Description        : to pe2 (Madrid) - 100G core link, circuit ES-MAD-0042,
                     carrier Telefonica
Interface          : 1/1/c1/1                   Oper Speed       : 100 Gbps
Link-level         : Ethernet                   Config Speed     : N/A
Admin State        : up                         Oper Duplex      : full
Oper State         : up
Physical Link      : Yes                        MTU              : 8936
IfIndex            : 1610899520                 Hold time up     : 0 seconds
Last State Change  : 12/03/2025 16:26:38        Hold time down   : 0 seconds
Configured Address : 0c:00:4e:ad:1f:01
Hardware Address   : 0c:00:4e:ad:1f:01
===============================================================================
Traffic Statistics
===============================================================================
                                                   Input                 Output
-------------------------------------------------------------------------------
Octets                                         843395823             790046227
Packets                                          3125462               2911580
Errors                                                 4                     0
Utilization (300 seconds)                          0.00%                 0.00%
===============================================================================

===============================================================================
Port Statistics
===============================================================================
                                                   Input                 Output
-------------------------------------------------------------------------------
Unicast Packets                                  3110011               2900011
Multicast Packets                                  15430                 11561
Broadcast Packets                                     21                     8
Discards                                               7                     2
Unknown Proto Discards                                 0
===============================================================================
"""


def test_sros_show_port_gives_states_and_skips_connectors() -> None:
    samples = parse_sros_port_table("pe1", SROS_SHOW_PORT, NOW)
    states = {s.name: (s.admin_state, s.oper_state) for s in samples}
    assert states == {
        "1/1/c1/1": ("enable", "up"),
        "1/1/c2/1": ("enable", "up"),
        "1/1/c3/1": ("disable", "down"),
        "1/1/c4/1": ("enable", "down"),  # Ghost
        "A/1": ("enable", "up"),
    }
    assert all(s.device == "pe1" and s.timestamp == NOW and s.in_octets is None for s in samples)


def test_sros_show_port_detail_gives_counters_and_a_wrapped_description() -> None:
    (port,) = parse_sros_port_detail("pe1", SROS_SHOW_PORT_DETAIL, NOW)
    assert port.name == "1/1/c1/1"
    assert port.description == "to pe2 (Madrid) - 100G core link, circuit ES-MAD-0042, carrier Telefonica"
    assert (port.admin_state, port.oper_state, port.speed_bps) == ("enable", "up", 100_000_000_000)
    assert port.last_change == utc("2025-12-03T16:26:38")
    assert (port.in_octets, port.out_octets, port.in_packets, port.out_packets) == (
        843395823,
        790046227,
        3125462,
        2911580,
    )
    assert (port.in_errors, port.out_errors, port.in_discards, port.out_discards) == (4, 0, 7, 2)


SROS_SYSTEM_INFORMATION = """
===============================================================================
System Information
===============================================================================
System Name            : pe1
System Type            : 7750 SR-7
Chassis Topology       : Standalone
System Version         : C-25.10.R2
System Contact         :
System Location        : Tecno-Alcalá
System Up Time         : 0 days, 00:43:21.05 (hr:min:sec)
Management IP Addr     : 10.0.0.1/24
===============================================================================
"""

SROS_CPU_TAIL = """
===============================================================================
CPU Utilization (Sample period: 1 second)
===============================================================================
Name                                   CPU Time       CPU Usage        Capacity
                                         (uSec)                           Usage
-------------------------------------------------------------------------------
BFD                                         518           0.05%           0.03%
DHCP Server                                  25          ~0.00%          ~0.00%
-------------------------------------------------------------------------------
Total                                 1,001,337         100.00%
   Idle                                 865,055          86.39%
   Usage                                136,282          13.60%
Busiest Core Utilization                136,282          13.60%
===============================================================================
"""

SROS_MEMORY_TAIL = """
-------------------------------------------------------------------------------
Current Total Size :      2,090,861,808 bytes
Total In Use       :      1,868,437,144 bytes
Available Memory   :     13,620,346,880 bytes
===============================================================================
"""

SROS_ALARMS = """
===============================================================================
Alarms [Critical:1 Major:1 Minor:0 Warning:0 Total:2]
===============================================================================
Index      Date/Time               Severity  Alarm      Resource
   Details
-------------------------------------------------------------------------------
1          2025/12/03 16:27:02.10  CRITICAL  7-2001-1   Port 1/1/c1/1
   Port 1/1/c1/1 is down
2          2025/12/03 16:30:00.00  MAJOR     psu-2      power-supply 2
   Power supply 2 failed: input power lost
===============================================================================
"""


def test_sros_system_cpu_memory_and_alarms() -> None:
    fields = parse_sros_system_information(SROS_SYSTEM_INFORMATION, NOW)
    assert fields == {
        "hostname": "pe1",
        "chassis": "7750 SR-7",
        "version": "C-25.10.R2",
        "boot_time": pytest.approx(NOW - 2601.05),
    }
    assert parse_sros_cpu(SROS_CPU_TAIL) == 13.60
    assert parse_sros_memory(SROS_MEMORY_TAIL) == (1_868_437_144 + 13_620_346_880, 1_868_437_144)
    assert parse_sros_memory("nothing here") is None
    critical, major = parse_sros_alarms("pe1", SROS_ALARMS)
    assert (critical.severity, critical.alarm_id, critical.resource) == (Severity.CRITICAL, "7-2001-1", "Port 1/1/c1/1")
    assert critical.text == "Port 1/1/c1/1 is down"
    assert critical.raised_at == pytest.approx(utc("2025-12-03T16:27:02.10"))
    assert (major.severity, major.text) == (Severity.MAJOR, "Power supply 2 failed: input power lost")
    assert (
        parse_sros_alarms("pe1", "Alarms [Critical:0 Major:0 Minor:0 Warning:0 Total:0]\nNo Matching Entries\n") == ()
    )


def test_sros_chassis_components() -> None:
    text = """
===============================================================================
Chassis Information
===============================================================================
  Name                              : pe1
  Type                              : 7750 SR-7
  Critical LED state                : Off
Hardware Data
  Temperature                       : +41C
-------------------------------------------------------------------------------
Environment Information
  Number of fan trays               : 2

  Fan tray number                   : 1
    Speed                           : half speed
    Status                          : up

  Fan tray number                   : 2
    Speed                           : full speed
    Status                          : failed
-------------------------------------------------------------------------------
Power Supply Information
  Number of power supplies          : 2

  Power supply number               : 1
    Status                          : up

  Power supply number               : 2
    Status                          : out of service
===============================================================================
"""
    fields = parse_sros_chassis(text)
    assert fields["chassis"] == "7750 SR-7"
    assert [(t.sensor, t.celsius) for t in fields["temperatures"]] == [("chassis", 41.0)]
    assert fields["fans"] == (ComponentStatus("fan-tray 1", "up"), ComponentStatus("fan-tray 2", "failed"))
    assert fields["power_supplies"] == (
        ComponentStatus("power-supply 1", "up"),
        ComponentStatus("power-supply 2", "out of service"),
    )


# -- the lab's CLI engines, compared with the model they render -----------------------------------------------


class EngineRunner:
    """Runs commands on a lab CLI engine directly (no sockets), as SshSession would report them."""

    def __init__(self, engine: SrLinuxCli | SrosCli, platform: Platform, device: str) -> None:
        self.engine, self.platform, self.device = engine, platform, device
        self.commands: list[str] = []

    async def run(self, command: str, timeout: float | None = None) -> CommandResult:  # noqa: ASYNC109
        self.commands.append(command)
        output = self.engine.execute(command).output
        reason = device_error_reason(self.platform, output)
        return CommandResult(
            self.device,
            command,
            output,
            NOW,
            NOW,
            ok=reason is None,
            reason=reason or "",
            failure=Failure.DEVICE_ERROR if reason else None,
        )


def fixed_model(role: str, *, platform: Platform | None = None) -> DeviceModel:
    identity = next(i for i in build_fleet(DEMO_SITES[:1], 5) if i.role == role)
    if platform is not None:
        identity = dataclasses.replace(identity, platform=platform)
    return DeviceModel(identity, clock=lambda: NOW)


async def test_srlinux_engine_poll_matches_the_model() -> None:
    model = fixed_model("leaf")
    model.raise_alarm("major", "fan-tray 1", "Fan tray 1 failed", "fan-1")
    port = next(name for name, iface in model.interfaces.items() if iface.passing_traffic and name != "mgmt0")
    model.set_oper_state(port, False)
    runner = EngineRunner(SrLinuxCli(model, FaultState()), Platform.SRLINUX, model.identity.name)
    poller = SshPoller(runner, model.identity.name, Platform.SRLINUX, clock=ManualClock(NOW))

    batches = await poller.poll_interfaces()
    samples = {sample.name: sample for batch in batches for sample in batch.samples()}
    assert len(batches) == 1  # one command read every interface at one instant: one batch
    assert set(samples) == set(model.interfaces)
    for name, iface in model.interfaces.items():
        sample, counters = samples[name], iface.counters
        assert sample.in_octets == Counters.value(counters.in_octets), name
        assert sample.out_packets == Counters.value(counters.out_packets), name
        assert sample.oper_state == ("up" if iface.oper_up else "down")
        assert sample.admin_state == ("enable" if iface.admin_up else "disable")
        assert sample.speed_bps == iface.speed_bps

    health = await poller.poll_health()
    assert runner.commands[1:] == list(POLL_COMMANDS[Platform.SRLINUX].health)
    assert poller.last_failures == []
    assert health.hostname == model.identity.name and health.chassis == model.identity.model
    assert health.version == model.identity.version
    assert health.cpu_pct == round(model.cpu_pct())
    assert (health.memory_total, health.memory_used) == model.memory()
    assert health.boot_time == pytest.approx(model.boot_time, abs=0.001)
    assert health.fans is not None and len(health.fans) == len(model.fans)
    assert health.power_supplies is not None and all(p.oper_state == "up" for p in health.power_supplies)
    assert health.temperatures and health.temperatures[0].sensor == "control A"
    # No alarm list to ask for: the fan tray's oper-state and the port's oper-down-reason raise derived alarms.
    assert "alarms" not in " ".join(runner.commands)
    assert health.alarms is not None
    assert [(a.resource, a.severity, a.derived) for a in health.alarms] == [
        ("fan-tray 1", Severity.MAJOR, True),
        (port, Severity.MAJOR, True),
    ]
    first = health.alarms
    model.set_oper_state(port, True)
    await poller.poll_interfaces()
    again = await poller.poll_health()
    assert again.alarms == first[:1]  # the port's alarm cleared; the fan tray's kept the time it was raised


@pytest.mark.parametrize("platform", [Platform.SROS, Platform.SROS_CLASSIC])
async def test_sros_engine_poll_matches_the_model(platform: Platform) -> None:
    model = fixed_model("gateway", platform=platform)
    model.fail_power_supply(2)
    engine = SrosCli(model, FaultState(), classic=platform is Platform.SROS_CLASSIC)
    runner = EngineRunner(engine, platform, model.identity.name)
    poller = SshPoller(runner, model.identity.name, platform, clock=ManualClock(NOW))

    batches = await poller.poll_interfaces()
    samples = {sample.name: sample for batch in batches for sample in batch.samples()}
    assert set(samples) == set(model.interfaces)
    assert runner.commands == ["show port"] + [f"show port {name}" for name in samples]
    assert [list(batch.rows) for batch in batches] == [[name] for name in samples]  # a batch per port's command
    for name, iface in model.interfaces.items():
        sample, counters = samples[name], iface.counters
        assert sample.in_octets == Counters.value(counters.in_octets), name
        assert sample.out_octets == Counters.value(counters.out_octets), name
        assert sample.in_packets == Counters.value(counters.in_packets), name
        assert sample.oper_state == ("up" if iface.oper_up else "down")
        assert sample.speed_bps == (iface.speed_bps if iface.oper_up else None)  # SR OS: "N/A" while down

    health = await poller.poll_health()
    assert poller.last_failures == []
    assert health.hostname == model.identity.name and health.chassis == model.identity.model
    assert health.cpu_pct == pytest.approx(model.cpu_pct(), abs=0.01)
    assert (health.memory_total, health.memory_used) == model.memory()
    assert health.boot_time == pytest.approx(model.boot_time, abs=0.01)
    assert health.power_supplies is not None
    assert [p.oper_state for p in health.power_supplies] == ["up", "failed", "up", "up"]
    assert health.alarms is not None and [(a.alarm_id, a.severity) for a in health.alarms] == [
        ("psu-2", Severity.MAJOR)
    ]


async def test_a_device_error_leaves_that_part_empty_and_a_lost_session_raises() -> None:
    model = fixed_model("gateway")

    class Refusing(EngineRunner):
        async def run(self, command: str, timeout: float | None = None) -> CommandResult:  # noqa: ASYNC109
            if command == "show system cpu":
                command = "show system cpux"
            return await super().run(command, timeout)

    runner = Refusing(SrosCli(model, FaultState()), Platform.SROS, "gw")
    poller = SshPoller(runner, "gw", Platform.SROS, clock=ManualClock(NOW))
    health = await poller.poll_health()
    assert health.cpu_pct is None and health.memory_total is not None
    assert [f.command for f in poller.last_failures] == ["show system cpux"]
    assert poller.last_failures[0].failure is Failure.DEVICE_ERROR
    assert poller.last_failures[0].reason.startswith("device error: MINOR:")  # quotes the device's own line

    class Lost:
        async def run(self, command: str, timeout: float | None = None) -> CommandResult:  # noqa: ASYNC109
            return CommandResult("gw", command, "", NOW, NOW, ok=False, reason="gone", failure=Failure.CONNECTION_LOST)

    with pytest.raises(ConnectionLost):
        await SshPoller(Lost(), "gw", Platform.SROS).poll_health()


# -- over SSH -------------------------------------------------------------------------------------------------


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    for attempt in range(8):
        identities = relocate(build_fleet(synthetic_sites(1), 5, ssh_port=2222), random.randrange(100, 250))
        lab = Lab(identities, lab_dir=tmp_path / f"lab{attempt}", ssh_port=2222, gnmi=False)
        try:
            await lab.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        try:
            yield lab
        finally:
            await lab.stop()
        return


@pytest.mark.lab
@pytest.mark.parametrize("name", ["alcala-spine1", "alcala-gw1", "alcala-gw2"])
async def test_polling_over_a_real_ssh_session(lab: Lab, tmp_path: Path, name: str) -> None:
    identity = lab.device(name).identity
    target = SshTarget(name, identity.platform, identity.host, identity.ssh_port, identity.username, use_agent=False)
    async with SshSession(
        target, known_hosts=KnownHosts(tmp_path / "kh", user_files=()), password=lambda: identity.password
    ) as session:
        poller = SshPoller(session, name, identity.platform)
        interfaces = [sample for batch in await poller.poll_interfaces() for sample in batch.samples()]
        health = await poller.poll_health()
    model = lab.device(name).model
    assert {sample.name for sample in interfaces} == set(model.interfaces)
    assert all(sample.in_octets is not None for sample in interfaces)
    assert health.hostname == name and health.cpu_pct is not None and health.memory_total == model.memory()[0]
    assert health.alarms == () and poller.last_failures == []
