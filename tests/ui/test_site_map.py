"""The site map: sites → roles → devices with badges and roll-ups, updated line by line, and selection."""

from __future__ import annotations

import dataclasses

import pytest
from textual.app import App, ComposeResult

from conftest import SampleFleet
from edgeops.devices.samples import Alarm, DeviceState, SessionState, Severity
from edgeops.fleet.store import FleetStore
from edgeops.ui.live import Selection, SelectionChanged
from edgeops.ui.panes.site_map import (
    BADGE_TEXT,
    DeviceView,
    GroupView,
    SiteMap,
    device_badge,
    short_model,
)

WIDTH = 44


class SiteMapApp(App[None]):
    """The site map alone, fed by hand the way the console's refresh tick feeds it."""

    CSS = "SiteMap { width: 44; height: 1fr; }"

    def __init__(self, store: FleetStore) -> None:
        super().__init__()
        self.store = store
        self.selections: list[Selection] = []
        self.seen = 0

    def get_theme_variable_defaults(self) -> dict[str, str]:
        from edgeops.ui.app import STATUS_VARIABLE_DEFAULTS

        return {**super().get_theme_variable_defaults(), **STATUS_VARIABLE_DEFAULTS}

    def compose(self) -> ComposeResult:
        yield SiteMap(id="map")

    def on_mount(self) -> None:
        tree = self.query_one(SiteMap)
        tree.populate(self.store)
        self.seen = self.store.version
        tree.focus()

    def tick(self) -> None:
        changes = self.store.changes_since(self.seen)
        self.seen = changes.version
        self.query_one(SiteMap).apply_changes(self.store, changes)

    def on_selection_changed(self, message: SelectionChanged) -> None:
        self.selections.append(message.selection)


def lines(tree: SiteMap) -> list[str]:
    return [tree.render_line(y).text.rstrip() for y in range(tree.size.height)]


def snapshot_with(store: FleetStore, name: str, **changes: object):  # type: ignore[no-untyped-def]
    return dataclasses.replace(store.device(name), **changes)


def test_badges_say_what_is_wrong(sample_fleet: SampleFleet) -> None:
    store = sample_fleet.store
    up = store.device("alcala-spine1")
    assert device_badge(up) == "up"
    assert device_badge(dataclasses.replace(up, stale=True)) == "stale"
    assert device_badge(dataclasses.replace(up, state=DeviceState.DEGRADED, stale=True)) == "stale"
    assert device_badge(dataclasses.replace(up, state=DeviceState.DOWN, stale=True)) == "down"
    assert device_badge(dataclasses.replace(up, state=DeviceState.AUTH_FAILED)) == "auth"
    assert device_badge(dataclasses.replace(up, state=DeviceState.HOSTKEY_MISMATCH)) == "hostkey"
    assert device_badge(dataclasses.replace(up, state=DeviceState.CONNECTING)) == "connecting"
    assert device_badge(dataclasses.replace(up, state=DeviceState.UNREACHABLE)) == "unreachable"
    assert {len(text) for text in BADGE_TEXT.values()} <= {2, 4, 5}  # they fit their column


def test_short_model_drops_the_family_number() -> None:
    assert short_model("7220 IXR-D3L") == "IXR-D3L"
    assert short_model("7750 SR-7") == "SR-7"
    assert short_model("") == ""


def test_group_view_counts_badges_and_keeps_the_worst_alarm() -> None:
    views = [
        DeviceView("up", 0, None),
        DeviceView("down", 1, Severity.MINOR),
        DeviceView("up", 2, Severity.CRITICAL),
        DeviceView("stale", 0, None),
    ]
    group = GroupView.of_devices(views)
    assert (group.total, group.count("up"), group.count("down"), group.count("stale")) == (4, 2, 1, 1)
    assert (group.alarms, group.worst_alarm) == (3, Severity.CRITICAL)


async def test_tree_of_sites_roles_devices_with_roll_ups(sample_fleet: SampleFleet) -> None:
    app = SiteMapApp(sample_fleet.store)
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        tree = app.query_one(SiteMap)
        sites = [node.data.key for node in tree.root.children if node.data]
        assert sites == ["alcala", "madrid", "barcelona"]
        alcala = tree.root.children[0]
        assert [child.data.title for child in alcala.children if child.data] == ["spine", "leaf", "gateway"]
        leaf = alcala.children[1]
        assert [d.data.key for d in leaf.children if d.data] == [f"alcala-leaf{n}" for n in range(1, 5)]
        text = "\n".join(lines(tree))
        # The site line: name, up count, the worst category, alarms.
        assert "Tecno-Alcalá" in text and "7/8 up 1 down ▲2" in text
        assert "down  alcala-leaf2" in text
        assert "up    alcala-leaf1" in text and "IXR-D2L ▲1" in text
        # Only the first site is open; the others show their roll-up on one line.
        assert "▶ Madrid-Julián Camarillo" in text and "7/8 up 1 degr ▲2" in text
        assert "7/8 up 1 auth ▲2" in text


async def test_labels_are_sanitised(sample_fleet: SampleFleet) -> None:
    inventory = sample_fleet.inventory
    hostile = dataclasses.replace(inventory.sites[0], name="[red]Evil\x1b]0;title\x07")
    store = FleetStore(dataclasses.replace(inventory, sites=(hostile, *inventory.sites[1:])), sample_fleet.clock)
    app = SiteMapApp(store)
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        first = lines(app.query_one(SiteMap))[0]
        assert "[red]Evil" in first
        assert "\x1b" not in first and "\x07" not in first


async def test_only_changed_lines_are_repainted_and_the_cursor_stays(sample_fleet: SampleFleet) -> None:
    app = SiteMapApp(sample_fleet.store)
    async with app.run_test(size=(60, 30)) as pilot:
        tree = app.query_one(SiteMap)
        await pilot.press("down", "down", "down")
        cursor = tree.cursor_line
        repainted: list[str] = []
        original = tree._repaint

        def spy(node):  # type: ignore[no-untyped-def]
            shown = original(node)
            if shown:
                repainted.append(node.data.key)
            return shown

        tree._repaint = spy  # type: ignore[method-assign]
        # Traffic only: counters move, no badge, alarm or roll-up changes, so no line is drawn again.
        sample_fleet.advance(2.0, rounds=2)
        app.tick()
        assert repainted == []
        # One device goes down: its line, its role's line and its site's line, nothing else.
        store = sample_fleet.store
        store.set_session("alcala-spine1", "ssh", SessionState.DOWN, "connection refused")
        store.set_session("alcala-spine1", "gnmi", SessionState.DOWN, "connection refused")
        app.tick()
        assert sorted(repainted) == ["alcala", "alcala-spine1", "alcala/spine"]
        assert tree.device_view("alcala-spine1").badge == "down"
        assert tree.site_view("alcala").count("down") == 2
        # An alarm on a device in a closed site: the site line changes; the device has no line on screen.
        repainted.clear()
        store.apply_health(
            dataclasses.replace(
                store.device("madrid-gw1").health,
                alarms=(Alarm("madrid-gw1", "psu-2", Severity.CRITICAL, "power-supply 2", "PSU failed"),),
            )
        )
        app.tick()
        assert repainted == ["madrid"]
        assert tree.device_view("madrid-gw1").alarms == 1
        await pilot.pause()
        assert tree.cursor_line == cursor, "updates never move the cursor"
        assert tree.root.children[1].data.view.worst_alarm == Severity.CRITICAL


async def test_moving_the_cursor_selects_and_enter_selects_at_once(sample_fleet: SampleFleet) -> None:
    app = SiteMapApp(sample_fleet.store)
    async with app.run_test(size=(60, 30)) as pilot:
        selections = app.selections
        await pilot.pause(0.3)
        assert selections == [Selection("site", "alcala")]
        await pilot.press("down", "down")  # role line, then the first spine
        await pilot.pause(0.3)
        assert selections[-1] == Selection("device", "alcala-spine1")
        # Where the cursor comes to rest is selected (lines passed on the way may or may not be, by timing).
        await pilot.press("down", "down", "down", "down")
        await pilot.pause(0.3)
        assert selections[-1] == Selection("device", "alcala-leaf2")
        await pilot.press("down", "enter")
        assert selections[-1] == Selection("device", "alcala-leaf3")


async def test_reveal_opens_the_site_and_moves_the_cursor(sample_fleet: SampleFleet) -> None:
    app = SiteMapApp(sample_fleet.store)
    async with app.run_test(size=(60, 30)) as pilot:
        tree = app.query_one(SiteMap)
        assert not tree.root.children[2].is_expanded
        assert tree.reveal(Selection("device", "barcelona-gw2"))
        await pilot.pause(0.3)
        assert tree.root.children[2].is_expanded
        assert tree.cursor_node is not None and tree.cursor_node.data.key == "barcelona-gw2"
        assert app.selections[-1] == Selection("device", "barcelona-gw2")
        assert not tree.reveal(Selection("device", "no-such-device"))


@pytest.mark.parametrize(("key", "expanded"), [("plus", [True, True, True]), ("minus", [False, False, False])])
async def test_plus_and_minus_open_and_close_every_site(
    sample_fleet: SampleFleet, key: str, expanded: list[bool]
) -> None:
    app = SiteMapApp(sample_fleet.store)
    async with app.run_test(size=(60, 30)) as pilot:
        tree = app.query_one(SiteMap)
        await pilot.press(key)
        assert [node.is_expanded for node in tree.root.children] == expanded


def shown(tree: SiteMap) -> set[str]:
    return set(tree._devices)


async def test_find_by_part_of_an_address_shows_that_device_and_enter_selects_it(sample_fleet: SampleFleet) -> None:
    inventory = sample_fleet.inventory
    target = next(device for device in inventory.devices if device.host == "127.99.2.3")
    app = SiteMapApp(sample_fleet.store)
    async with app.run_test(size=(60, 30)) as pilot:
        tree = app.query_one(SiteMap)
        await pilot.pause(0.3)
        assert len(shown(tree)) == len(inventory.devices)
        await pilot.press("slash", *"99.2.3")
        await pilot.pause()
        assert tree.finding and tree.find_text == "99.2.3"
        assert shown(tree) == {target.name}
        assert "/99.2.3" in str(tree.border_subtitle) and f"1/{len(inventory.devices)}" in str(tree.border_subtitle)
        text = "\n".join(lines(tree))
        assert target.name in text and "Madrid" in text and "Tecno-Alcalá" not in text
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert not tree.finding
        assert app.selections[-1] == Selection("device", target.name)
        assert tree.cursor_node is not None and tree.cursor_node.data.key == target.name
        assert "find “99.2.3”" in str(tree.border_subtitle)
        # Escape clears the find: the whole map again.
        await pilot.press("escape")
        await pilot.pause()
        assert len(shown(tree)) == len(inventory.devices) and tree.find_text == "" and not tree.border_subtitle


async def test_find_matches_role_model_and_site_and_typing_is_not_a_key_binding(sample_fleet: SampleFleet) -> None:
    inventory = sample_fleet.inventory
    app = SiteMapApp(sample_fleet.store)
    async with app.run_test(size=(60, 30)) as pilot:
        tree = app.query_one(SiteMap)
        await pilot.press("slash", *"SR-")  # the 7750 SR models: the gateways
        await pilot.pause()
        assert shown(tree) == {d.name for d in inventory.devices if "SR-" in d.model}
        await pilot.press(*["backspace"] * 3, *"spine")  # a role
        await pilot.pause()
        assert shown(tree) == {d.name for d in inventory.devices if d.role == "spine"}
        await pilot.press(*["backspace"] * 5, *"barcel")  # a site's name
        await pilot.pause()
        assert shown(tree) == {d.name for d in inventory.devices if d.site == "barcelona"}
        # Keys that are bindings elsewhere (p, -, +, space) are text while finding.
        await pilot.press(*["backspace"] * 6, "p", "space", "minus")
        await pilot.pause()
        assert tree.find_text == "p -" and not tree.problems_only
        await pilot.press(*["backspace"] * 3, *"no-such-device")
        await pilot.pause()
        assert shown(tree) == set() and "no device matches" in str(tree.border_subtitle)


async def test_problems_only_follows_the_fleet(sample_fleet: SampleFleet) -> None:
    store = sample_fleet.store
    app = SiteMapApp(store)
    async with app.run_test(size=(60, 30)) as pilot:
        tree = app.query_one(SiteMap)
        await pilot.pause()

        def problems() -> set[str]:
            return {
                name
                for name in store.device_names()
                if device_badge(store.device(name)) != "up" or store.device(name).alarms
            }

        await pilot.press("p")
        await pilot.pause()
        assert tree.problems_only and "problems" in str(tree.border_subtitle)
        expected = problems()
        assert "alcala-leaf2" in expected and shown(tree) == expected
        assert len(expected) < len(store.device_names())
        # A healthy device goes down: it joins the map on the next tick.
        healthy = next(name for name in store.device_names() if name not in expected)
        store.set_session(healthy, "ssh", SessionState.DOWN, "connection refused")
        store.set_session(healthy, "gnmi", SessionState.DOWN, "connection refused")
        app.tick()
        await pilot.pause()
        assert healthy in shown(tree)
        # It comes back: it leaves again.
        store.set_session(healthy, "ssh", SessionState.UP, "")
        store.set_session(healthy, "gnmi", SessionState.UP, "")
        app.tick()
        await pilot.pause()
        assert healthy not in shown(tree) and shown(tree) == problems()
        # Both filters together: problems at one site.
        await pilot.press("slash", *"madrid", "enter")
        await pilot.pause()
        assert shown(tree) == {name for name in problems() if name.startswith("madrid")}
        await pilot.press("escape", "p")
        await pilot.pause()
        assert len(shown(tree)) == len(store.device_names())


async def test_reveal_of_a_device_the_filters_hide_shows_the_whole_map(sample_fleet: SampleFleet) -> None:
    app = SiteMapApp(sample_fleet.store)
    async with app.run_test(size=(60, 30)) as pilot:
        tree = app.query_one(SiteMap)
        await pilot.press("slash", *"madrid", "enter")
        await pilot.pause()
        assert "barcelona-gw2" not in shown(tree)
        assert tree.reveal(Selection("device", "barcelona-gw2"))
        await pilot.pause(0.3)
        assert tree.cursor_node is not None and tree.cursor_node.data.key == "barcelona-gw2"
        assert tree.find_text == ""
