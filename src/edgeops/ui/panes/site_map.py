"""The site map pane: sites → roles → devices, each with a status badge, model and alarm count, and site roll-ups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from edgeops.devices.samples import DeviceState, Severity
from edgeops.fleet.store import ChangeSet, DeviceSnapshot, FleetStore, SiteRollup
from edgeops.ui.live import Selection, SelectionChanged
from edgeops.ui.sanitize import safe_plain

# Moving the cursor through the tree selects what it lands on, after this pause (so holding a key down
# does not make the other panes redraw for every line passed).
HIGHLIGHT_SELECT_DELAY_S = 0.15
GUIDE_DEPTH = 3
BADGE_WIDTH = 5

Badge = Literal["up", "degraded", "down", "unreachable", "stale", "auth", "hostkey", "connecting"]

# What each badge says (fixed width, so the columns line up) and which colour it takes.
BADGE_TEXT: dict[Badge, str] = {
    "up": "up",
    "degraded": "degr",
    "down": "down",
    "unreachable": "unrch",
    "stale": "stale",
    "auth": "auth!",
    "hostkey": "hkey!",
    "connecting": "conn…",
}
BADGE_COMPONENT: dict[Badge, str] = {
    "up": "site-map--up",
    "degraded": "site-map--degraded",
    "down": "site-map--down",
    "unreachable": "site-map--down",
    "stale": "site-map--stale",
    "auth": "site-map--problem",
    "hostkey": "site-map--problem",
    "connecting": "site-map--connecting",
}
BADGE_MEANING: dict[Badge, str] = {
    "up": "SSH and gNMI (or SSH polling) working",
    "degraded": "one of SSH / gNMI is down",
    "down": "no session to the device",
    "unreachable": "no route or no answer",
    "stale": "connected, but data stopped arriving",
    "auth": "login rejected: check the credentials",
    "hostkey": "host key changed: possible impostor",
    "connecting": "connecting",
}
# Worst first: the site line names the worst category it has.
_SEVERITY_COMPONENT = {
    Severity.CRITICAL: "site-map--down",
    Severity.MAJOR: "site-map--down",
    Severity.MINOR: "site-map--degraded",
    Severity.WARNING: "site-map--degraded",
}
_STATE_BADGE: dict[DeviceState, Badge] = {
    DeviceState.UP: "up",
    DeviceState.DEGRADED: "degraded",
    DeviceState.DOWN: "down",
    DeviceState.UNREACHABLE: "unreachable",
    DeviceState.AUTH_FAILED: "auth",
    DeviceState.HOSTKEY_MISMATCH: "hostkey",
    DeviceState.CONNECTING: "connecting",
}


def device_badge(snapshot: DeviceSnapshot) -> Badge:
    """The badge for a device: its state, except that a connected device whose data stopped is "stale"."""
    if snapshot.stale and snapshot.state in (DeviceState.UP, DeviceState.DEGRADED):
        return "stale"
    return _STATE_BADGE.get(snapshot.state, "connecting")


def short_model(model: str) -> str:
    """ "7220 IXR-D3L" → "IXR-D3L", "7750 SR-7" → "SR-7": the family number is implied by the platform."""
    words = model.split()
    return words[-1] if words else ""


def alarm_mark(count: int) -> str:
    return f"▲{count}" if count else ""


@dataclass(frozen=True)
class DeviceView:
    """What a device line shows; the line repaints only when this changes."""

    badge: Badge
    alarms: int
    worst_alarm: Severity | None

    @classmethod
    def of(cls, snapshot: DeviceSnapshot) -> DeviceView:
        alarms = snapshot.alarms  # most severe first
        return cls(device_badge(snapshot), len(alarms), alarms[0].severity if alarms else None)


@dataclass(frozen=True)
class GroupView:
    """What a site or role line shows: counts of its devices by badge, and alarms."""

    total: int = 0
    counts: tuple[tuple[Badge, int], ...] = ()
    alarms: int = 0
    worst_alarm: Severity | None = None

    def count(self, badge: Badge) -> int:
        return dict(self.counts).get(badge, 0)

    @classmethod
    def of_devices(cls, views: Iterable[DeviceView]) -> GroupView:
        counts: dict[Badge, int] = {}
        total = alarms = 0
        worst: Severity | None = None
        order = list(_SEVERITY_COMPONENT)
        for view in views:
            total += 1
            counts[view.badge] = counts.get(view.badge, 0) + 1
            alarms += view.alarms
            if view.worst_alarm is not None and (worst is None or order.index(view.worst_alarm) < order.index(worst)):
                worst = view.worst_alarm
        return cls(total, tuple(sorted(counts.items())), alarms, worst)

    @classmethod
    def of_rollup(cls, rollup: SiteRollup, views: Iterable[DeviceView]) -> GroupView:
        # The store's rollup is the authority for the counts of up/down/...; the badges add "stale".
        group = cls.of_devices(views)
        return cls(rollup.total, group.counts, rollup.alarms.total, group.worst_alarm)


@dataclass
class MapEntry:
    """The data of one tree node."""

    kind: Literal["site", "role", "device"]
    key: str  # site code, "site/role", or device name
    site: str
    title: str  # site name, role, or device name (already sanitised)
    model: str = ""
    view: DeviceView | GroupView = field(default_factory=GroupView)

    @property
    def selection(self) -> Selection:
        if self.kind == "device":
            return Selection("device", self.key)
        return Selection("site", self.site)


def finder_matches(query: str, snapshot: DeviceSnapshot, site_name: str) -> bool:
    """Whether a device matches what was typed into the site map's finder: a case-insensitive substring of its
    name, site (code or name), role, model or management address."""
    device = snapshot.device
    needle = query.casefold()
    return any(
        needle in field.casefold()
        for field in (device.name, device.site, site_name, device.role, device.model, device.host)
    )


def is_problem(view: DeviceView) -> bool:
    """What "problems only" keeps: a device that is not up (stale counts as a problem) or has an active alarm."""
    return view.badge != "up" or view.alarms > 0


# Worst first: which category a group line names after its "up" count.
_GROUP_WORST: tuple[Badge, ...] = ("hostkey", "auth", "down", "unreachable", "degraded", "stale", "connecting")


class SiteMap(Tree[MapEntry]):
    """Sites → roles → devices. Labels are drawn from each node's data, so an update repaints one line in place."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("space", "toggle_node", "Expand/collapse", show=False),
        Binding("shift+space", "toggle_expand_all", "Expand/collapse all", show=False),
        Binding("right", "expand_node", "Expand", show=False),
        Binding("left", "collapse_node", "Collapse / up", show=False),
        Binding("plus", "expand_all_sites", "Expand all", show=False),
        Binding("minus", "collapse_all_sites", "Collapse all", show=False),
        Binding(
            "slash", "start_find", "Find", tooltip="Show only devices whose name, site, role, model or address match"
        ),
        Binding("p", "toggle_problems", "Problems only", tooltip="Show only devices not up or with active alarms"),
        Binding("escape", "clear_find", "Clear find", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "site-map--up",
        "site-map--degraded",
        "site-map--down",
        "site-map--stale",
        "site-map--problem",
        "site-map--connecting",
        "site-map--dim",
        "site-map--site",
    }

    DEFAULT_CSS = """
    SiteMap {
        overflow-x: hidden;
    }
    SiteMap > .site-map--up { color: $status-up; }
    SiteMap > .site-map--degraded { color: $status-degraded; }
    SiteMap > .site-map--down { color: $status-down; text-style: bold; }
    SiteMap > .site-map--stale { color: $status-stale; }
    SiteMap > .site-map--problem { color: $status-problem; text-style: bold; }
    SiteMap > .site-map--connecting { color: $foreground-muted; }
    SiteMap > .site-map--dim { color: $foreground-muted; }
    SiteMap > .site-map--site { text-style: bold; }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__("fleet", name=name, id=id, classes=classes)
        self.show_root = False
        self.guide_depth = GUIDE_DEPTH
        self._devices: dict[str, TreeNode[MapEntry]] = {}
        self._roles: dict[str, TreeNode[MapEntry]] = {}  # "site/role" -> node
        self._sites: dict[str, TreeNode[MapEntry]] = {}
        self._role_members: dict[str, list[str]] = {}
        self._site_roles: dict[str, list[str]] = {}
        self._highlight_timer: Timer | None = None
        self._selected: Selection | None = None
        self._store: FleetStore | None = None
        self.find_text = ""  # what the finder holds: devices must match it ("" shows every device)
        self.finding = False  # keys are going into the finder (after `/`, until Enter or Escape)
        self.problems_only = False
        self.shown_devices = 0

    # -- building (once) ---------------------------------------------------------------------------------

    def populate(self, store: FleetStore, *, expand_first: bool = True) -> None:
        """Build the tree from the store's inventory: called once, and again when the finder or "problems only"
        changes what is shown; later changes of the fleet only repaint lines."""
        self._store = store
        filtering = bool(self.find_text) or self.problems_only
        names = {site.code: site.name for site in store.inventory.sites}
        shown = {
            name
            for code in store.site_codes()
            for name in store.device_names(code)
            if self._shows(store, name, names.get(code, code))
        }
        self.shown_devices = len(shown)
        self.clear()
        self._devices.clear()
        self._roles.clear()
        self._sites.clear()
        self._role_members.clear()
        self._site_roles.clear()
        inventory = store.inventory
        names = {site.code: site.name for site in inventory.sites}
        codes = [
            code for code in store.site_codes() if not filtering or any(n in shown for n in store.device_names(code))
        ]
        for index, code in enumerate(codes):
            site_node = self.root.add(
                "",
                MapEntry("site", code, code, safe_plain(names.get(code, code))),
                expand=filtering or (expand_first and index == 0),
            )
            self._sites[code] = site_node
            roles: dict[str, list[str]] = {}
            for device_name in store.device_names(code):
                if device_name in shown:
                    roles.setdefault(store.device(device_name).device.role, []).append(device_name)
            self._site_roles[code] = [f"{code}/{role}" for role in roles]
            for role, members in roles.items():
                key = f"{code}/{role}"
                role_node = site_node.add("", MapEntry("role", key, code, safe_plain(role)), expand=True)
                self._roles[key] = role_node
                self._role_members[key] = members
                for device_name in members:
                    snapshot = store.device(device_name)
                    entry = MapEntry(
                        "device",
                        device_name,
                        code,
                        safe_plain(device_name),
                        model=safe_plain(short_model(snapshot.device.model)),
                        view=DeviceView.of(snapshot),
                    )
                    self._devices[device_name] = role_node.add_leaf("", entry)
                role_node.data = self._role_entry(key)
            site_node.data = self._site_entry(store, code)
        if self.cursor_node is None and self.root.children:
            # The cursor starts on the first site: it is selected, and the panes show its summary.
            self.call_after_refresh(self._put_cursor_on, self.root.children[0])
        self._show_find_state()

    def _shows(self, store: FleetStore, name: str, site_name: str) -> bool:
        snapshot = store.device(name)
        if self.problems_only and not is_problem(DeviceView.of(snapshot)):
            return False
        return not self.find_text or finder_matches(self.find_text, snapshot, site_name)

    def _refilter(self) -> None:
        """Rebuild the tree for the finder and "problems only", keeping the cursor on the device it was on."""
        if self._store is None:
            return
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        self.populate(self._store, expand_first=True)
        if cursor is not None and cursor.kind == "device" and cursor.key in self._devices:
            self.call_after_refresh(self._put_cursor_on, self._devices[cursor.key])

    def _show_find_state(self) -> None:
        """The finder's prompt and what the filters leave, in the pane's bottom border (seen at any size)."""
        parts = []
        if self.finding:
            parts.append(f"/{safe_plain(self.find_text)}▏")
        elif self.find_text:
            parts.append(f"find “{safe_plain(self.find_text)}”")
        if self.problems_only:
            parts.append("problems")
        if parts and self._store is not None:
            total = len(self._store.device_names())
            parts.append(f"{self.shown_devices}/{total}" if self.shown_devices else "no device matches")
        self.border_subtitle = " · ".join(parts)

    # -- live updates ------------------------------------------------------------------------------------

    def apply_changes(self, store: FleetStore, changes: ChangeSet) -> None:
        """Repaint the lines of changed devices and their roles and sites; unchanged lines are left alone."""
        if self.problems_only and self._problems_changed(store, changes):
            self._refilter()  # a device became a problem or stopped being one: it joins or leaves the map
            return
        devices = self._devices.keys() if changes.full else changes.devices
        touched_roles: set[str] = set()
        touched_sites: set[str] = set(changes.sites) if not changes.full else set(self._sites)
        for name in devices:
            node = self._devices.get(name)
            if node is None or node.data is None:
                continue
            view = DeviceView.of(store.device(name))
            if view != node.data.view:
                node.data.view = view
                self._repaint(node)
                if node.parent is not None and node.parent.data is not None:
                    touched_roles.add(node.parent.data.key)
                touched_sites.add(node.data.site)
        for key in touched_roles:
            node = self._roles[key]
            entry = self._role_entry(key)
            if node.data is None or entry.view != node.data.view:
                node.data = entry
                self._repaint(node)
        for code in touched_sites:
            node = self._sites.get(code)
            if node is None:
                continue
            entry = self._site_entry(store, code)
            if node.data is None or entry.view != node.data.view:
                node.data = entry
                self._repaint(node)

    def _problems_changed(self, store: FleetStore, changes: ChangeSet) -> bool:
        names = store.device_names() if changes.full else changes.devices
        site_names = {site.code: site.name for site in store.inventory.sites}
        for name in names:
            snapshot = store.device(name)
            shown = name in self._devices
            if shown != self._shows(store, name, site_names.get(snapshot.device.site, snapshot.device.site)):
                return True
        return False

    def _repaint(self, node: TreeNode[MapEntry]) -> bool:
        """Repaint the node's line; False when it has none on screen."""
        # TreeNode.refresh repaints just this line (set_label would repaint every child line too); a node
        # inside a collapsed branch has no line to repaint and is drawn fresh when it is expanded.
        parent = node.parent
        while parent is not None and parent is not self.root:
            if not parent.is_expanded:
                return False
            parent = parent.parent
        node.refresh()
        return True

    def _role_entry(self, key: str) -> MapEntry:
        site, _, role = key.partition("/")
        views = [self._devices[name].data.view for name in self._role_members[key]]  # type: ignore[union-attr]
        return MapEntry("role", key, site, safe_plain(role), view=GroupView.of_devices(views))  # type: ignore[arg-type]

    def _site_entry(self, store: FleetStore, code: str) -> MapEntry:
        shown = [self._devices[name] for name in store.device_names(code) if name in self._devices]
        views = [node.data.view for node in shown]  # type: ignore[union-attr]
        title = self._sites[code].data.title if self._sites[code].data else code  # type: ignore[union-attr]
        rollup = store.site_rollup(code)
        if self.find_text or self.problems_only:  # the line counts what the filters show, like its roles' lines
            return MapEntry("site", code, code, title, view=GroupView.of_devices(views))  # type: ignore[arg-type]
        return MapEntry("site", code, code, title, view=GroupView.of_rollup(rollup, views))  # type: ignore[arg-type]

    # -- what others call --------------------------------------------------------------------------------

    @property
    def selected(self) -> Selection | None:
        """What the site map last announced (or was told about)."""
        return self._selected

    def device_view(self, name: str) -> DeviceView | None:
        node = self._devices.get(name)
        return None if node is None or node.data is None else node.data.view  # type: ignore[return-value]

    def site_view(self, code: str) -> GroupView | None:
        node = self._sites.get(code)
        return None if node is None or node.data is None else node.data.view  # type: ignore[return-value]

    def reveal(self, selection: Selection, *, announce: bool = True) -> bool:
        """Expand down to a device or site, put the cursor on it and select it. False when it is not in the map.

        announce=False when the selection was already announced by someone else (a drill-down in another pane).
        """
        if (
            selection.kind == "device"
            and selection.key not in self._devices
            and (self.find_text or self.problems_only)
            and self._store is not None
            and selection.key in self._store.device_names()
        ):
            # Asked for a device the filters hide (from the palette, a drill-down): show the whole map again.
            self.find_text, self.problems_only, self.finding = "", False, False
            self.populate(self._store, expand_first=False)
        if selection.kind == "device":
            node = self._devices.get(selection.key)
        elif selection.kind == "site":
            node = self._sites.get(selection.key)
        else:
            node = None
        if node is None:
            return False
        parent = node.parent
        while parent is not None and parent is not self.root:
            parent.expand()
            parent = parent.parent
        # Expanding rebuilds the tree's lines on the next refresh; the node's line is known only then.
        self.call_after_refresh(self._put_cursor_on, node)
        if announce:
            self._post_selection(selection)
        else:
            self._cancel_pending()
            self._selected = selection
        return True

    def _put_cursor_on(self, node: TreeNode[MapEntry]) -> None:
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)

    # -- rendering ---------------------------------------------------------------------------------------

    def render_label(self, node: TreeNode[MapEntry], base_style: Style, style: Style) -> Text:
        entry = node.data
        if entry is None:
            return super().render_label(node, base_style, style)
        prefix = ""
        if node.allow_expand:
            prefix = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        depth = {"site": 0, "role": 1, "device": 2}[entry.kind]
        width = max(0, self.scrollable_content_region.width - depth * self.guide_depth - len(prefix))
        if entry.kind == "device":
            body = self._device_label(entry, width)
        else:
            body = self._group_label(entry, width)
        body.stylize(style)
        text = Text(prefix, style=base_style)
        text.append_text(body)
        return text

    def get_label_width(self, node: TreeNode[MapEntry]) -> int:
        # Labels stretch to the pane's width; report their natural width so the tree never scrolls sideways.
        entry = node.data
        if entry is None:
            return super().get_label_width(node)
        return len(entry.title) + 2 + (BADGE_WIDTH + 1 if entry.kind == "device" else 0)

    def _device_label(self, entry: MapEntry, width: int) -> Text:
        view = entry.view
        assert isinstance(view, DeviceView)
        component = self.get_component_rich_style
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{BADGE_TEXT[view.badge]:<{BADGE_WIDTH}}", component(BADGE_COMPONENT[view.badge]))
        text.append(" ")
        text.append(entry.title)
        right = Text(no_wrap=True)
        mark = alarm_mark(view.alarms)
        room = width - text.cell_len - 1
        if entry.model and room >= len(entry.model) + 5:
            right.append(entry.model, component("site-map--dim"))
        if mark:
            if right.cell_len:
                right.append(" ")
            right.append(mark, component(_SEVERITY_COMPONENT.get(view.worst_alarm, "site-map--dim")))  # type: ignore[arg-type]
        return _spread(text, right, width)

    def _group_label(self, entry: MapEntry, width: int) -> Text:
        view = entry.view
        assert isinstance(view, GroupView)
        component = self.get_component_rich_style
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(entry.title, component("site-map--site") if entry.kind == "site" else component("site-map--dim"))
        right = Text(no_wrap=True)
        up = view.count("up")
        all_up = up == view.total and view.total > 0
        right.append(f"{up}/{view.total} up", component("site-map--up") if all_up else Style())
        for badge in _GROUP_WORST:
            count = view.count(badge)
            if count:
                right.append(f" {count} {BADGE_TEXT[badge].rstrip('!…')}", component(BADGE_COMPONENT[badge]))
                break
        if view.alarms:
            right.append(" ")
            right.append(
                alarm_mark(view.alarms),
                component(_SEVERITY_COMPONENT.get(view.worst_alarm, "site-map--dim")),  # type: ignore[arg-type]
            )
        return _spread(text, right, width)

    # -- selection ---------------------------------------------------------------------------------------

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[MapEntry]) -> None:
        event.stop()
        entry = event.node.data
        if entry is None:
            return
        if self._highlight_timer is not None:
            self._highlight_timer.stop()
        selection = entry.selection
        self._highlight_timer = self.set_timer(HIGHLIGHT_SELECT_DELAY_S, lambda: self._post_selection(selection))

    @on(Tree.NodeSelected)
    def _chosen(self, event: Tree.NodeSelected[MapEntry]) -> None:
        event.stop()
        entry = event.node.data
        if entry is not None:
            self._post_selection(entry.selection)

    def _cancel_pending(self) -> None:
        if self._highlight_timer is not None:
            self._highlight_timer.stop()
            self._highlight_timer = None

    def _post_selection(self, selection: Selection) -> None:
        self._cancel_pending()
        if selection == self._selected:
            return
        self._selected = selection
        self.post_message(SelectionChanged(selection))

    # -- keys --------------------------------------------------------------------------------------------

    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()
        elif node is not None and node.children:
            self.action_cursor_down()

    def action_collapse_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_start_find(self) -> None:
        self.finding = True
        self._show_find_state()

    def action_toggle_problems(self) -> None:
        self.problems_only = not self.problems_only
        self._refilter()

    def action_clear_find(self) -> None:
        self.finding = False
        if self.find_text:
            self.find_text = ""
            self._refilter()
        self._show_find_state()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_find":
            # Without a find to clear, Escape belongs to whoever is above this pane.
            return self.finding or bool(self.find_text)
        return True

    async def _on_key(self, event: events.Key) -> None:
        """While finding, keys edit the finder (as in an input line) instead of moving through the tree."""
        if not self.finding:
            return
        key = event.key
        if key == "escape":
            return  # the binding clears the find
        event.stop()
        event.prevent_default()
        if key == "enter":
            self.finding = False
            self._show_find_state()
            self._select_first_match()
        elif key == "backspace":
            self.find_text = self.find_text[:-1]
            self._refilter()
        elif key in ("up", "down"):
            self.finding = False  # leaves the finder for the tree, keeping the filter
            self._show_find_state()
            self.action_cursor_down() if key == "down" else self.action_cursor_up()
        elif event.is_printable and event.character is not None:
            self.find_text += event.character
            self._refilter()

    def _select_first_match(self) -> None:
        if not self._devices:
            return
        first = next(iter(self._devices.values()))
        if first.data is not None:
            self.call_after_refresh(self._put_cursor_on, first)
            self._post_selection(first.data.selection)

    def action_expand_all_sites(self) -> None:
        for node in self._sites.values():
            node.expand_all()

    def action_collapse_all_sites(self) -> None:
        for node in self._sites.values():
            node.collapse()
        cursor = self.cursor_node
        if cursor is not None and cursor.data is not None and cursor.data.kind != "site":
            self.move_cursor(self._sites[cursor.data.site])


def _spread(left: Text, right: Text, width: int) -> Text:
    """`left` then `right` pushed to the right edge of `width` cells (right wins when space is short)."""
    gap = width - left.cell_len - right.cell_len
    if gap >= 1:
        left.append(" " * gap)
        left.append_text(right)
        return left
    if right.cell_len and width > right.cell_len + 4:
        left.truncate(width - right.cell_len - 1, overflow="ellipsis")
        left.append(" ")
        left.append_text(right)
        return left
    left.truncate(max(0, width), overflow="ellipsis")
    return left
