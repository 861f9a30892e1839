"""The store's subscription-group records and their states, driven by a hand-moved clock: what the supervisor
writes, what readers see (staleness judged at read time), and how a refusal is remembered per release."""

from __future__ import annotations

import pytest

from edgeops.clock import ManualClock
from edgeops.devices.gnmi_paths import SROS_STATE, StreamMode, SubscriptionSpec
from edgeops.devices.subscriptions import GROUP_ORDER, GroupRejection, SubscriptionState
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.platforms import Platform

START = 1_767_225_600.0
DEVICE = "alc-gw1"
RELEASE = "nokia-state 24.3.R2-1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START, monotonic_start=500.0)


@pytest.fixture
def store(clock: ManualClock) -> FleetStore:
    inventory = Inventory(
        sites=(Site("Tecno-Alcalá", "alcala"),),
        devices=(
            Device(DEVICE, "alcala", "gateway", Platform.SROS, "7750 SR-1", "127.0.1.3"),
            Device("alc-leaf1", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.1.1"),
        ),
    )
    return FleetStore(inventory, clock, stale_factor=3.0)


def specs(*, alarms: bool = True) -> tuple[SubscriptionSpec, ...]:
    declared = SROS_STATE.subscriptions(counter_interval_s=2.0, health_interval_s=10.0)
    if not alarms:  # a platform whose alarms are derived from component state: nothing to subscribe to
        declared = tuple(
            SubscriptionSpec(spec.name, (), spec.mode, spec.interval_s) if spec.name == "alarms" else spec
            for spec in declared
        )
    return declared


def refusal(text: str = "MINOR: MGMT_CORE #2201: Unknown element - 'statistics'", release: str = RELEASE):
    return GroupRejection(code="INVALID_ARGUMENT", text=text, release=release, at=START)


def state(store: FleetStore, group: str) -> SubscriptionState:
    return store.subscription(DEVICE, group).state


def test_a_device_has_no_groups_until_its_supervisor_declares_them(store: FleetStore) -> None:
    assert store.subscriptions(DEVICE) == ()
    with pytest.raises(KeyError):
        store.subscription(DEVICE, "counters")
    with pytest.raises(KeyError, match="no subscription group"):
        store.set_subscription_state(DEVICE, "counters", SubscriptionState.LIVE)
    store.subscription_data(DEVICE, "counters")  # data for an undeclared group is ignored, not an error


def test_declared_groups_are_pending_in_order_with_their_paths_mode_and_interval(store: FleetStore) -> None:
    version = store.version
    store.set_subscriptions(DEVICE, tuple(reversed(specs(alarms=False))), RELEASE)
    assert store.changes_since(version).devices == {DEVICE}
    groups = store.subscriptions(DEVICE)
    assert tuple(group.group for group in groups) == GROUP_ORDER
    counters, oper_state, health, alarms = groups
    assert counters.paths == SROS_STATE.counters and counters.mode == "sample" and counters.interval_s == 2.0
    assert oper_state.mode == "on-change" and oper_state.interval_s == 0.0
    assert health.interval_s == 10.0
    assert [group.state for group in groups[:3]] == [SubscriptionState.PENDING] * 3
    assert alarms.state is SubscriptionState.NO_PATHS and alarms.paths == ()
    assert all(group.release == RELEASE and group.last_data is None and group.since == START for group in groups)
    assert not SubscriptionState.PENDING.settled and SubscriptionState.NO_PATHS.settled


def test_live_data_ages_and_a_silent_sampled_group_turns_stale(store: FleetStore, clock: ManualClock) -> None:
    store.set_subscriptions(DEVICE, specs(), RELEASE)
    for group in GROUP_ORDER:
        store.set_subscription_state(DEVICE, group, SubscriptionState.LIVE)
        store.subscription_data(DEVICE, group)
    clock.advance(5.0)
    counters = store.subscription(DEVICE, "counters")
    assert counters.state is SubscriptionState.LIVE and counters.age_s == 5.0 and counters.last_data == START
    with pytest.raises(ValueError, match="judged by the store"):
        store.set_subscription_state(DEVICE, "counters", SubscriptionState.STALE)

    # 3 x 2 s without counters: stale; on-change and target-defined groups may be silent for good.
    clock.advance(1.5)
    version = store.version
    assert state(store, "counters") is SubscriptionState.STALE
    assert store.refresh_staleness() == {DEVICE}
    assert store.changes_since(version).devices == {DEVICE}
    assert store.refresh_staleness() == frozenset()  # announced once
    assert state(store, "health") is SubscriptionState.LIVE  # 10 s interval: not yet
    clock.advance(600.0)
    assert state(store, "oper-state") is SubscriptionState.LIVE
    assert state(store, "alarms") is SubscriptionState.LIVE  # target-defined on SR OS
    assert state(store, "health") is SubscriptionState.STALE

    # Data again: fresh at once, and the change is logged so the view repaints.
    version = store.version
    store.subscription_data(DEVICE, "counters")
    assert state(store, "counters") is SubscriptionState.LIVE
    assert store.changes_since(version).devices == {DEVICE}
    version = store.version
    store.subscription_data(DEVICE, "counters")  # the hot path logs nothing while nothing turned
    assert store.version == version


def test_a_refusal_is_kept_while_polled_or_retried_and_dropped_once_served(store: FleetStore) -> None:
    store.set_subscriptions(DEVICE, specs(), RELEASE)
    store.set_subscription_state(DEVICE, "counters", SubscriptionState.REJECTED, refusal())
    status = store.subscription(DEVICE, "counters")
    assert status.state is SubscriptionState.REJECTED and status.error.startswith("MINOR: MGMT_CORE #2201")
    assert status.rejection == refusal()

    store.set_subscription_state(DEVICE, "counters", SubscriptionState.POLLED)
    assert state(store, "counters") is SubscriptionState.POLLED
    assert store.subscription(DEVICE, "counters").rejection == refusal()  # polled, but still refused
    store.set_subscription_state(DEVICE, "counters", SubscriptionState.DOWN)
    assert store.subscription(DEVICE, "counters").rejection == refusal()

    # A reconnect to the same release asks again: pending, the refusal still shown.
    store.set_subscriptions(DEVICE, specs(), RELEASE)
    status = store.subscription(DEVICE, "counters")
    assert status.state is SubscriptionState.PENDING and status.rejection == refusal()
    # Refused again with other words: the latest words are shown.
    store.set_subscription_state(DEVICE, "counters", SubscriptionState.REJECTED, refusal("other words"))
    assert store.subscription(DEVICE, "counters").error == "other words"
    # The device serves the group now: the refusal is gone.
    store.set_subscription_state(DEVICE, "counters", SubscriptionState.LIVE)
    assert store.subscription(DEVICE, "counters").rejection is None


def test_an_upgrade_forgets_what_the_old_release_refused(store: FleetStore, clock: ManualClock) -> None:
    store.set_subscriptions(DEVICE, specs(), RELEASE)
    store.set_subscription_state(DEVICE, "alarms", SubscriptionState.REJECTED, refusal())
    store.set_subscriptions(DEVICE, specs(), RELEASE)
    assert store.subscription(DEVICE, "alarms").rejection == refusal()
    clock.advance(60.0)
    store.set_subscriptions(DEVICE, specs(), "nokia-state 25.10.R2")
    status = store.subscription(DEVICE, "alarms")
    assert status.rejection is None and status.release == "nokia-state 25.10.R2"
    assert status.state is SubscriptionState.PENDING and status.since == START  # pending all along
    # A declaration without a release (polled over SSH before any gNMI session) keeps what is known.
    store.set_subscriptions(DEVICE, specs(), "")
    assert store.subscription(DEVICE, "alarms").release == "nokia-state 25.10.R2"


def test_states_change_their_since_time_only_when_they_change(store: FleetStore, clock: ManualClock) -> None:
    store.set_subscriptions(DEVICE, specs(), RELEASE)
    clock.advance(3.0)
    store.set_subscription_state(DEVICE, "health", SubscriptionState.LIVE)
    clock.advance(3.0)
    store.set_subscription_state(DEVICE, "health", SubscriptionState.LIVE)
    assert store.subscription(DEVICE, "health").since == START + 3.0
    assert StreamMode(store.subscription(DEVICE, "health").mode) is StreamMode.SAMPLE
    # The other device's records are its own.
    assert store.subscriptions("alc-leaf1") == ()
