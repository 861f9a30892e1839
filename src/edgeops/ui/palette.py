"""Command-palette providers: jump to a device or site, run a command, switch theme, show or focus panes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from edgeops.fleet.targets import TargetError, looks_like_address, parse_targets
from edgeops.inventory.model import Device
from edgeops.ui.live import Selection
from edgeops.ui.sanitize import markup_literal, safe_content, safe_plain

if TYPE_CHECKING:
    from edgeops.ui.app import EdgeOpsApp

# A query starting with one of these words is offered as a command to run.
COMMAND_WORDS = ("show", "info", "admin", "ping", "traceroute", "file", "@")
RUN_PREFIXES = ("run ", ">")


def _app(provider: Provider) -> EdgeOpsApp:
    return cast("EdgeOpsApp", provider.app)


@dataclass(frozen=True)
class _Target:
    text: str  # what the matcher sees
    help: str
    selection: Selection


class FleetProvider(Provider):
    """Go to a site or a device: the site map reveals it and the panes follow."""

    async def startup(self) -> None:
        app = _app(self)
        self._targets: list[_Target] = []
        if not app.has_fleet:  # the inventory did not load: nothing to go to
            return
        store = app.store
        names = {site.code: site.name for site in store.inventory.sites}
        targets = self._targets
        for code in store.site_codes():
            name = safe_plain(names.get(code, code))
            count = len(store.device_names(code))
            targets.append(_Target(f"{name} ({code})", f"site · {count} devices", Selection("site", code)))
        for device in store.inventory.devices:
            targets.append(
                _Target(
                    safe_plain(device.name),
                    safe_plain(f"device · {device.role} · {device.model} · {names.get(device.site, device.site)}"),
                    Selection("device", device.name),
                )
            )

    async def discover(self) -> Hits:
        for target in self._targets:
            if target.selection.kind == "site":
                yield DiscoveryHit(
                    safe_content(f"Go to {target.text}"),
                    partial(_app(self).go_to, target.selection),
                    help=markup_literal(target.help),
                )

    async def search(self, query: str) -> Hits:
        for device in self._by_host(query):
            yield Hit(
                1.0,
                safe_content(f"Go to {device.name} ({device.host})"),
                partial(_app(self).go_to, Selection("device", device.name)),
                text=f"Go to {device.name}",
                help=markup_literal(f"go to device · host {device.host} · {device.role} · {device.site}"),
            )
        matcher = self.matcher(query)
        for target in self._targets:
            score = matcher.match(target.text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(target.text),
                    partial(_app(self).go_to, target.selection),
                    text=target.text,
                    help=markup_literal(f"go to {target.help}"),
                )

    def _by_host(self, query: str) -> tuple[Device, ...]:
        """Devices an address, a network or `host:...` names (an alert's IP pasted into the palette)."""
        app = _app(self)
        text = query.strip()
        if not app.has_fleet or not text:
            return ()
        if not text.casefold().startswith("host:"):
            if not looks_like_address(text):
                return ()
            text = f"host:{text}"
        try:
            return parse_targets(text).select(app.store.inventory)
        except TargetError:
            return ()


def common_commands() -> list[str]:
    """Show commands worth offering, from the runner pane's completion lists when it is installed."""
    try:
        from edgeops.ui.panes.command_runner import COMMON_COMMANDS
    except ImportError:
        return ["show version", "show interface brief", "show platform chassis", "show system alarms"]
    seen: dict[str, None] = {}
    for commands in COMMON_COMMANDS.values():
        seen.update(dict.fromkeys(commands))
    return list(seen)


class RunCommandProvider(Provider):
    """Run a command on the current selection: opens the command runner pane with it."""

    async def startup(self) -> None:
        self._commands = common_commands()

    def _target(self) -> str:
        selection = _app(self).selection
        if selection.kind == "fleet":
            return "the whole fleet"
        return f"{selection.kind} {safe_plain(selection.key)}"

    async def discover(self) -> Hits:
        for command in self._commands[:6]:
            yield DiscoveryHit(
                safe_content(f"Run: {command}"),
                partial(_app(self).open_runner, command),
                help=markup_literal(f"on {self._target()}"),
            )

    async def search(self, query: str) -> Hits:
        stripped = query.strip()
        typed = ""
        for prefix in RUN_PREFIXES:
            if stripped.lower().startswith(prefix):
                typed = stripped[len(prefix) :].strip()
        if not typed and stripped.split(" ", 1)[0].lower().startswith(COMMAND_WORDS):
            typed = stripped
        if typed:
            yield Hit(
                1.0,
                safe_content(f"Run: {typed}"),
                partial(_app(self).open_runner, typed),
                text=f"Run: {typed}",
                help=markup_literal(f"on {self._target()} (the read-only guard applies)"),
            )
        matcher = self.matcher(query)
        for command in self._commands:
            label = f"Run: {command}"
            score = matcher.match(label)
            if score > 0 and command != typed:
                yield Hit(
                    score * 0.9,
                    matcher.highlight(label),
                    partial(_app(self).open_runner, command),
                    text=label,
                    help=markup_literal(f"on {self._target()}"),
                )


class ThemeProvider(Provider):
    """Switch theme by name."""

    def _themes(self) -> list[str]:
        return sorted(_app(self).available_themes)

    def _choose(self, name: str) -> None:
        self.app.theme = name

    async def discover(self) -> Hits:
        for name in self._themes():
            if name.startswith("edgeops"):
                yield DiscoveryHit(safe_content(f"Theme: {name}"), partial(self._choose, name), help="switch theme")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name in self._themes():
            label = f"Theme: {name}"
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._choose, name), text=label, help="switch theme")


class PaneProvider(Provider):
    """Focus a pane, show or hide one, and open the help."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = _app(self)
        commands: list[tuple[str, Callable[[], object], str]] = []
        for key, title in app.pane_titles().items():
            commands.append((f"Focus pane: {title}", partial(app.focus_pane, key), f"key {app.pane_number(key)}"))
            if key != "site-map":
                hidden = app.pane_hidden(key)
                verb = "Show" if hidden else "Hide"
                commands.append((f"{verb} pane: {title}", partial(app.toggle_pane, key), "toggle the pane"))
        commands.append(("Help: keys", app.action_help, "key ?"))
        return commands

    async def discover(self) -> Hits:
        for label, command, help_text in self._commands():
            yield DiscoveryHit(safe_content(label), command, help=markup_literal(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, command, help_text in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), command, text=label, help=markup_literal(help_text))
