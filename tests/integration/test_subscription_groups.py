"""Per-group gNMI subscriptions against the device lab over real sockets: a path a device refuses costs its group,
never the stream; the store shows every group's state with the device's own error text."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from edgeops.devices.gnmi_paths import native_path_map
from edgeops.devices.samples import DeviceState, SessionState
from edgeops.devices.subscriptions import SubscriptionState
from edgeops.devices.supervisor import RestartOutcome
from edgeops.fleet.engine import EngineSettings, FleetEngine
from edgeops.fleet.store import FleetStore
from edgeops.lab.runner import Lab

pytestmark = pytest.mark.lab

EngineFactory = Callable[..., Awaitable[FleetEngine]]
LabFactory = Callable[..., Awaitable[Lab]]
EVENTUALLY_S = 20.0
GROUPS = ("counters", "oper-state", "health", "alarms")


async def eventually(
    condition: Callable[[], bool], *, within: float = EVENTUALLY_S, what: Callable[[], str], poll: float = 0.1
) -> None:
    """Wait until `condition()` is true; fail with what `what()` says about the state after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:g} s: {what()}")
        await asyncio.sleep(poll)


def first_path(lab: Lab, device: str, group: str) -> str:
    """The first path edgeops subscribes to for `group` on the device's platform (read from the path map, so the
    test follows the map when its paths change)."""
    path_map = native_path_map(lab.device(device).identity.platform)
    paths = {
        "counters": path_map.counters,
        "oper-state": path_map.oper_state,
        "health": path_map.health,
        "alarms": path_map.alarms,
    }[group]
    return paths[0]


def states(store: FleetStore, device: str) -> dict[str, SubscriptionState]:
    return {status.group: status.state for status in store.subscriptions(device)}


def groups_picture(store: FleetStore, names: list[str]) -> str:
    """Each device's groups and their states, for a failure message."""
    return "\n".join(f"{name}: {states(store, name)}" for name in names)


def gnmi_picture(store: FleetStore, names: list[str]) -> str:
    """Each device's gNMI state and telemetry source, for a failure message."""
    lines = []
    for name in names:
        snapshot = store.device(name)
        lines.append(
            f"{name}: gNMI {snapshot.gnmi.value} ({snapshot.gnmi_detail}), telemetry {snapshot.telemetry_source}"
        )
    return "\n".join(lines)


# One refused path per device, in a different group each (SR Linux alarms may have no paths: not refused there).
REFUSED = {
    "alcala-spine1": "health",
    "alcala-spine2": "counters",
    "alcala-leaf1": "oper-state",
    "alcala-gw1": "alarms",
    "alcala-gw2": "health",
}


async def test_a_refused_path_costs_its_group_and_every_other_group_stays_live(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab()
    for device, group in REFUSED.items():
        await lab.inject(device, "gnmi-reject", path=first_path(lab, device, group), code="invalid-argument")
    engine = await start_engine(lab.inventory())
    store = engine.store
    names = list(REFUSED)

    # gNMI stays up on every device: the refused path did not take the stream (and the device) to SSH polling.
    await eventually(
        lambda: all(
            store.device(name).gnmi is SessionState.UP and store.device(name).telemetry_source == "gnmi"
            for name in names
        ),
        what=lambda: "every device streaming over gNMI:\n" + gnmi_picture(store, names),
    )
    assert all(store.device(name).state is DeviceState.UP for name in names)

    # Every other group is live (SR Linux alarms have no paths to subscribe to, or are live where they do).
    def others_live() -> bool:
        for name, refused in REFUSED.items():
            if len(states(store, name)) != len(GROUPS):
                return False
            for group, state in states(store, name).items():
                if group != refused and state not in (SubscriptionState.LIVE, SubscriptionState.NO_PATHS):
                    return False
        return True

    await eventually(others_live, what=lambda: "the other groups live:\n" + groups_picture(store, names))
    # The refused group shows the device's own words, and is polled over SSH meanwhile (SSH works).
    await eventually(
        lambda: all(states(store, name).get(group) is SubscriptionState.POLLED for name, group in REFUSED.items()),
        what=lambda: "the refused groups polled over SSH:\n" + groups_picture(store, names),
    )
    for name, group in REFUSED.items():
        status = store.subscription(name, group)
        assert status.rejection is not None and status.rejection.code == "INVALID_ARGUMENT", (name, status)
        platform = lab.device(name).identity.platform
        words = "MINOR: MGMT_CORE #2201" if platform.is_sros else "is not valid: unknown element"
        assert words in status.error and first_path(lab, name, group).split("[")[0] in status.error, status.error
        assert status.paths and status.release, status
        assert engine.supervisor(name).rejections[group] == status.rejection
    # Data of every kind arrives: streamed counters and health, and what SSH polls for the refused groups.
    await eventually(
        lambda: all(
            any(i.rates.in_bps for i in store.interfaces(name, with_history=False))
            and (health := store.device(name).health) is not None
            and health.cpu_pct is not None
            for name in names
        ),
        what=lambda: "rates and CPU on every device",
    )
    # The device stays up and judged on the interval its counters really arrive at.
    assert store.device("alcala-spine2").expected_interval_s == engine.settings.supervisor.ssh_poll_interval_s
    assert store.device("alcala-spine1").expected_interval_s == engine.settings.supervisor.counter_interval_s
    assert all(store.device(name).state is DeviceState.UP and not store.device(name).stale for name in names)


async def test_a_reconnect_asks_for_a_refused_group_again(start_lab: LabFactory, start_engine: EngineFactory) -> None:
    lab = await start_lab()
    name = "alcala-gw1"
    faults = lab.device(name).faults
    await lab.inject(name, "gnmi-reject", path=first_path(lab, name, "counters"), code="not-found")
    engine = await start_engine(lab.inventory())
    store = engine.store
    supervisor = engine.supervisor(name)
    await eventually(
        lambda: states(store, name).get("counters") is SubscriptionState.POLLED,
        what=lambda: groups_picture(store, [name]),
    )
    assert supervisor.rejections["counters"].code == "NOT_FOUND"
    refused_before, sessions_before = faults.gnmi_subscribes_rejected, supervisor.gnmi_streams

    # The session is cut: the reconnect asks for counters again (and the device, unchanged, refuses again).
    await lab.inject(name, "gnmi-cut")
    await eventually(
        lambda: supervisor.gnmi_streams > sessions_before and faults.gnmi_subscribes_rejected > refused_before,
        what=lambda: f"a new session asking for counters again: {groups_picture(store, [name])}",
    )
    await eventually(
        lambda: states(store, name).get("counters") is SubscriptionState.POLLED,
        what=lambda: groups_picture(store, [name]),
    )
    assert store.subscription(name, "counters").rejection is not None

    # Fixed on the device (here: the fault cleared): the next reconnect finds counters served, and the store
    # forgets the refusal.
    await lab.clear(name)
    sessions_before = supervisor.gnmi_streams
    await lab.inject(name, "gnmi-cut")
    await eventually(
        lambda: (
            supervisor.gnmi_streams > sessions_before and states(store, name).get("counters") is SubscriptionState.LIVE
        ),
        what=lambda: groups_picture(store, [name]),
    )
    assert store.subscription(name, "counters").rejection is None and "counters" not in supervisor.rejections
    assert supervisor.ssh_groups == frozenset()
    assert store.device(name).expected_interval_s == engine.settings.supervisor.counter_interval_s


async def test_an_older_release_loses_only_the_group_of_the_subtree_it_lacks(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    probe = await start_lab()
    health = first_path(probe, "alcala-leaf1", "health")
    subtree = "/" + "/".join(part.split("[")[0] for part in health.strip("/").split("/")[:2])  # e.g. /platform/control
    await probe.stop()
    lab = await start_lab(older_releases={"alcala-leaf1": (subtree,)})
    engine = await start_engine(lab.inventory())
    store = engine.store
    name = "alcala-leaf1"
    await eventually(
        lambda: (
            states(store, name).get("health") in (SubscriptionState.REJECTED, SubscriptionState.POLLED)
            and states(store, name).get("counters") is SubscriptionState.LIVE
            and states(store, name).get("oper-state") is SubscriptionState.LIVE
        ),
        what=lambda: groups_picture(store, [name]),
    )
    status = store.subscription(name, "health")
    assert status.rejection is not None and status.rejection.code == "NOT_FOUND"
    assert subtree.rsplit("/", 1)[-1] in status.error
    # Its release is the older one, and the others (on the newer release) lost nothing.
    assert status.release != store.subscription("alcala-spine1", "health").release
    assert status.rejection.release == status.release
    others = [n for n in store.device_names() if n != name]
    await eventually(
        lambda: all(
            len(states(store, other)) == len(GROUPS)
            and all(
                state in (SubscriptionState.LIVE, SubscriptionState.NO_PATHS) for state in states(store, other).values()
            )
            for other in others
        ),
        what=lambda: groups_picture(store, others),
    )
    assert store.device(name).gnmi is SessionState.UP and store.device(name).telemetry_source == "gnmi"


async def test_one_group_is_made_again_without_reconnecting_the_device(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab()
    name = "alcala-spine1"
    faults = lab.device(name).faults
    await lab.inject(name, "gnmi-reject", path=first_path(lab, name, "oper-state"))
    engine = await start_engine(lab.inventory())
    store = engine.store
    supervisor = engine.supervisor(name)
    await eventually(
        lambda: (
            states(store, name).get("oper-state") is SubscriptionState.POLLED
            and states(store, name).get("counters") is SubscriptionState.LIVE
        ),
        what=lambda: groups_picture(store, [name]),
    )
    session, sessions, opened = supervisor.gnmi, supervisor.gnmi_streams, faults.gnmi_streams_opened
    assert supervisor.subscribe_calls == 1  # the groups the device takes ride on one call
    assert engine.restart_subscriptions(name, "alcala-typo") is RestartOutcome.NOT_SUBSCRIBED

    # The device now serves oper-state; restarting that group alone takes it live on the same channel.
    await lab.clear(name)
    assert engine.restart_subscriptions(name, "oper-state") is RestartOutcome.RESTARTING
    await eventually(
        lambda: states(store, name).get("oper-state") is SubscriptionState.LIVE,
        what=lambda: groups_picture(store, [name]),
    )
    assert supervisor.gnmi is session and supervisor.gnmi_streams == sessions  # no reconnect
    # Two new Subscribe calls: the refused group asked for alone, then the one call carrying every group.
    assert faults.gnmi_streams_opened == opened + 2
    assert supervisor.subscribe_calls == 1 and len({group.task for group in supervisor.groups.values()}) == 1
    assert supervisor.group_restarts == 1 and supervisor.ssh_groups == frozenset()
    assert store.subscription(name, "oper-state").rejection is None

    # All of a device's groups at once: their one call is made again, still the same session.
    assert engine.restart_subscriptions(name) is RestartOutcome.RESTARTING
    await eventually(
        lambda: (
            faults.gnmi_streams_opened == opened + 3
            and all(state is not SubscriptionState.PENDING for state in states(store, name).values())
        ),
        what=lambda: groups_picture(store, [name]),
    )
    assert supervisor.gnmi is session and supervisor.gnmi_streams == sessions and supervisor.subscribe_calls == 1


async def test_every_group_refused_means_ssh_polling_until_gnmi_is_tried_again(
    start_lab: LabFactory, start_engine: EngineFactory, fast_settings: EngineSettings
) -> None:
    lab = await start_lab()
    name = "alcala-gw1"
    for top in ("/state", "/configure"):  # everything the SR OS path map asks for
        await lab.inject(name, "gnmi-reject", path=top, code="unimplemented")
    # gNMI is tried again only every 300 s on its own: what brings it back below is the restart.
    patient = dataclasses.replace(fast_settings.supervisor, gnmi_retry_s=300.0)
    engine = await start_engine(lab.inventory(), settings=dataclasses.replace(fast_settings, supervisor=patient))
    store = engine.store
    supervisor = engine.supervisor(name)
    await eventually(
        lambda: (
            store.device(name).telemetry_source == "ssh"
            and len(states(store, name)) == len(GROUPS)
            and all(state is SubscriptionState.POLLED for state in states(store, name).values())
        ),
        what=lambda: gnmi_picture(store, [name]) + "\n" + groups_picture(store, [name]),
    )
    snapshot = store.device(name)
    assert snapshot.gnmi is SessionState.UNAVAILABLE and "every subscription was refused" in snapshot.gnmi_detail
    assert (
        snapshot.state is DeviceState.UP
        and snapshot.expected_interval_s == engine.settings.supervisor.ssh_poll_interval_s
    )
    assert all(status.rejection is not None for status in store.subscriptions(name))
    assert store.device(name).health is not None and store.interfaces(name, with_history=False)

    await lab.clear(name)
    assert engine.restart_subscriptions(name) is RestartOutcome.RETRYING_GNMI
    await eventually(
        lambda: (
            store.device(name).telemetry_source == "gnmi"
            and all(state is SubscriptionState.LIVE for state in states(store, name).values())
        ),
        what=lambda: gnmi_picture(store, [name]) + "\n" + groups_picture(store, [name]),
    )
    assert store.device(name).gnmi is SessionState.UP and supervisor.rejections == {}
    assert all(status.rejection is None for status in store.subscriptions(name))
    assert store.device(name).expected_interval_s == engine.settings.supervisor.counter_interval_s
    # The other devices were streaming all along: a restart of all of one's groups is made on its open session.
    assert engine.restart_subscriptions("alcala-spine1") is RestartOutcome.RESTARTING


async def test_derived_alarms_from_two_groups_make_one_alarm_list(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    """SR Linux alarms are derived from leaves of two groups (a power supply's state in health, an interface's
    oper-down-reason in oper-state), each its own Subscribe call: the device's alarm list holds both, and a clear
    in one group does not take the other's alarm away. SR OS alarms come from its alarm list's group."""
    lab = await start_lab()
    engine = await start_engine(lab.inventory())
    store = engine.store
    srl, sros = "alcala-leaf1", "alcala-gw1"
    await eventually(
        lambda: all(states(store, name).get("health") is SubscriptionState.LIVE for name in (srl, sros)),
        what=lambda: groups_picture(store, [srl, sros]),
    )
    port = next(name for name, port in lab.device(srl).model.interfaces.items() if port.oper_up)
    await lab.inject(srl, "alarm-raise", resource="power-supply 1", text="PSU failed")
    await lab.inject(srl, "alarm-raise", resource=port, text="link lost")
    await lab.inject(sros, "alarm-raise", resource="1/1/c1/1", text="port down", alarm_id="port-1")

    def resources(name: str) -> set[str]:
        return {alarm.resource for alarm in store.alarms(name)}

    await eventually(
        lambda: {"power-supply 1", port} <= resources(srl) and "port-1" in {a.alarm_id for a in store.alarms(sros)},
        what=lambda: f"{srl}: {store.alarms(srl)}\n{sros}: {store.alarms(sros)}",
    )
    assert all(alarm.derived for alarm in store.alarms(srl))
    assert not any(alarm.derived for alarm in store.alarms(sros))

    # The interface comes back (oper-state group): its alarm clears, the power supply's (health group) stays.
    lab.device(srl).model.set_oper_state(port, True)
    await eventually(
        lambda: port not in resources(srl), what=lambda: f"{srl}: {store.alarms(srl)}", within=EVENTUALLY_S
    )
    await asyncio.sleep(1.0)  # a health sample or two later
    assert "power-supply 1" in resources(srl), store.alarms(srl)


async def test_a_device_that_refuses_nothing_holds_one_subscribe_call_for_every_group(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab()
    engine = await start_engine(lab.inventory())
    store = engine.store
    names = list(store.device_names())
    await eventually(
        lambda: all(
            len(states(store, name)) == len(GROUPS)
            and all(
                state in (SubscriptionState.LIVE, SubscriptionState.NO_PATHS) for state in states(store, name).values()
            )
            for name in names
        ),
        what=lambda: groups_picture(store, names),
    )
    for name in names:
        faults = lab.device(name).faults
        # The lab counts the calls it serves: one per device, and it was never refused.
        assert len(faults.gnmi_closers) == 1 and faults.gnmi_streams_opened == 1, (name, faults.gnmi_streams_opened)
        assert faults.gnmi_subscribes_rejected == 0
        supervisor = engine.supervisor(name)
        assert supervisor.subscribe_calls == 1 and len({group.task for group in supervisor.groups.values()}) == 1
    # Each group still tells when its own data last came (the notifications are told apart by their paths).
    await eventually(
        lambda: all(
            status.last_data is not None
            for name in names
            for status in store.subscriptions(name)
            if status.state is SubscriptionState.LIVE
        ),
        what=lambda: "data for every live group",
    )


async def test_a_refused_call_is_split_then_one_call_carries_the_rest_and_ssh_polls_the_refused_group(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab()
    name = "alcala-gw1"
    faults = lab.device(name).faults
    await lab.inject(name, "gnmi-reject", path=first_path(lab, name, "counters"), code="not-found")
    engine = await start_engine(lab.inventory())
    store = engine.store
    supervisor = engine.supervisor(name)
    others = [group for group in GROUPS if group != "counters"]
    await eventually(
        lambda: (
            states(store, name).get("counters") is SubscriptionState.POLLED
            and all(states(store, name).get(group) is SubscriptionState.LIVE for group in others)
        ),
        what=lambda: groups_picture(store, [name]),
    )
    # Refused twice: the call carrying every group, then counters asked for alone. The other groups, each taken
    # alone, ride on one call again: the only one the device holds.
    assert faults.gnmi_subscribes_rejected == 2
    assert faults.gnmi_streams_opened == len(others) + 1 and len(faults.gnmi_closers) == 1
    assert supervisor.subscribe_calls == 1 and supervisor.groups["counters"].task is None
    assert len({supervisor.groups[group].task for group in others}) == 1
    status = store.subscription(name, "counters")
    assert status.rejection is not None and status.rejection.code == "NOT_FOUND" and "statistics" in status.error
    assert supervisor.rejections["counters"] == status.rejection and supervisor.ssh_groups == frozenset({"counters"})
    # Counters come over SSH, the rest over the one gNMI call.
    await eventually(
        lambda: any(i.rates.in_bps for i in store.interfaces(name, with_history=False)),
        what=lambda: "rates from counters polled over SSH",
    )
    assert store.device(name).gnmi is SessionState.UP and store.device(name).telemetry_source == "gnmi"
    assert store.device(name).expected_interval_s == engine.settings.supervisor.ssh_poll_interval_s
