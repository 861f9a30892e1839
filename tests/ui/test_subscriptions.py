"""The subscription view driven with Pilot: opened from device health and from the palette, live states from the
store, the device's error text inert, and a group restarted without reconnecting the device (against the lab)."""

from __future__ import annotations

import pytest
from test_app import WIDE, screen_text, wait_for
from textual.pilot import Pilot

from conftest import REFUSED_DEVICE, ConsoleLab, SampleFleet
from edgeops.devices.gnmi_paths import native_path_map
from edgeops.devices.subscriptions import SubscriptionState
from edgeops.ui.app import EdgeOpsApp, MainScreen, fleet_app, store_app
from edgeops.ui.live import Selection
from edgeops.ui.screens.subscriptions import SubscriptionsScreen


def fixed_app(fleet: SampleFleet) -> EdgeOpsApp:
    return store_app(fleet.inventory, paths=fleet.paths, store=fleet.store, clock=fleet.clock)


def subscriptions_screen(app: EdgeOpsApp) -> SubscriptionsScreen:
    screen = app.screen
    assert isinstance(screen, SubscriptionsScreen), type(screen)
    return screen


async def shown_view(pilot: Pilot[object], app: EdgeOpsApp) -> SubscriptionsScreen:
    """The subscription view, once it is on screen and filled."""
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, SubscriptionsScreen) and app.screen.ready,
        "the subscription view",
    )
    return subscriptions_screen(app)


def notices(app: EdgeOpsApp) -> list[str]:
    """The messages of the notifications shown so far."""
    return [notification.message for notification in app._notifications]


def row_states(screen: SubscriptionsScreen) -> dict[tuple[str, str], str]:
    table = screen.table
    return {key: table.row(key).cells[2].text for key in table.visible_keys()}  # type: ignore[misc]


async def test_t_in_device_health_opens_the_devices_groups_with_their_states(sample_fleet: SampleFleet) -> None:
    app = fixed_app(sample_fleet)
    async with app.run_test(size=WIDE) as pilot:
        app.go_to(Selection("device", REFUSED_DEVICE))
        await pilot.pause(0.3)
        await pilot.press("2")
        await pilot.pause(0.2)
        assert "Subscriptions" in screen_text(app)  # the footer offers it while device health has the focus
        await pilot.press("t")
        screen = await shown_view(pilot, app)
        assert row_states(screen) == {
            (REFUSED_DEVICE, "counters"): "live",
            (REFUSED_DEVICE, "oper-state"): "polled (SSH)",
            (REFUSED_DEVICE, "health"): "live",
            (REFUSED_DEVICE, "alarms"): "no paths",
        }
        # The device's words arrive as it sent them, inert: markup literal, no control character on the screen.
        screen.table.move_cursor((REFUSED_DEVICE, "oper-state"))
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "[red]PWNED[/red]" in text and "Refused by the device (INVALID_ARGUMENT)" in text
        assert not any(char in text for char in "\x1b\x07\x9b\x9d")
        assert "/interface[name=*]/last-change" in text  # the group's paths, one per line

        # Live: the store's changes reach the open screen on the refresh tick; silence turns a sampled group stale.
        store, clock = sample_fleet.store, sample_fleet.clock
        store.set_subscription_state(REFUSED_DEVICE, "oper-state", SubscriptionState.LIVE)
        await wait_for(pilot, lambda: row_states(screen)[REFUSED_DEVICE, "oper-state"] == "live", "oper-state live")
        clock.advance(31.0)
        store.refresh_staleness()
        await wait_for(pilot, lambda: row_states(screen)[REFUSED_DEVICE, "health"] == "stale", "health stale")

        # Without an engine there is nothing to restart: the console says so.
        await pilot.press("r")
        await wait_for(pilot, lambda: any("not connected to the fleet" in n for n in notices(app)), "the notice")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "back to the main screen")


async def test_the_palette_opens_the_subscriptions_of_a_site(sample_fleet: SampleFleet) -> None:
    app = fixed_app(sample_fleet)
    async with app.run_test(size=WIDE) as pilot:
        app.go_to(Selection("site", "madrid"))
        await pilot.pause(0.3)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"subscriptions: gnmi groups")
        await pilot.pause(0.8)
        await pilot.press("enter")
        screen = await shown_view(pilot, app)
        assert screen.selection == Selection("site", "madrid")
        devices = {device for device, _ in row_states(screen)}
        store = sample_fleet.store
        # Every device of the site that was ever connected, four groups each; the degraded one's are down.
        assert devices == {name for name in store.device_names("madrid") if store.subscriptions(name)}
        assert len(row_states(screen)) == 4 * len(devices)
        assert "down" in row_states(screen).values()


@pytest.mark.lab
async def test_a_refused_group_is_shown_and_restarted_alone_without_reconnecting(console_lab: ConsoleLab) -> None:
    name = "alcala-leaf1"
    lab = console_lab.lab
    counters = native_path_map(lab.devices[name].identity.platform).counters[0]
    await lab.inject(name, "gnmi-reject", path=counters, code="not-found")
    engine = console_lab.engine()
    app = fleet_app(console_lab.inventory, engine, paths=console_lab.paths)
    async with app.run_test(size=WIDE) as pilot:
        supervisor = engine.supervisor(name)
        await wait_for(pilot, lambda: "counters" in supervisor.rejections, "the device to refuse counters")
        app.open_subscriptions(Selection("device", name))
        screen = await shown_view(pilot, app)
        await wait_for(
            pilot, lambda: row_states(screen).get((name, "counters")) == "polled (SSH)", "counters polled over SSH"
        )
        screen.table.move_cursor((name, "counters"))
        await wait_for(pilot, lambda: "Refused by the device (NOT_FOUND)" in screen_text(app), "the device's words")
        assert "unknown element 'statistics'" in screen_text(app)

        # The device serves counters again: r asks for that group alone, on the same session.
        session, sessions = supervisor.gnmi, supervisor.gnmi_streams
        await lab.clear(name)
        await pilot.press("r")
        await wait_for(pilot, lambda: row_states(screen).get((name, "counters")) == "live", "counters live again")
        assert "Subscribing again: counters of alcala-leaf1 (the device stays connected)" in notices(app)
        assert supervisor.gnmi is session and supervisor.gnmi_streams == sessions
        # The groups the device takes ride on one call again, counters among them.
        assert supervisor.subscribe_calls == 1 and len({group.task for group in supervisor.groups.values()}) == 1
        assert supervisor.group_restarts == 1
