"""CommandRunner: results streamed per device, timeouts, dropped sessions, the guard and the audit log.

Most tests run against the device lab over real sockets through OnDemandTransport; a few use a small in-memory
transport to reach what a real device cannot be made to do on demand (a transport that raises, or never returns).
"""

from __future__ import annotations

import asyncio
import errno
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.samples import CommandResult, Failure
from edgeops.devices.ssh import SshSession
from edgeops.fleet.aliases import AliasError
from edgeops.fleet.audit import AuditLog, read_audited_commands
from edgeops.fleet.commands import CommandRunner, collect
from edgeops.fleet.on_demand import OnDemandTransport
from edgeops.fleet.progress import RunProgress
from edgeops.inventory.model import Device, Inventory
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites
from edgeops.platforms import Platform

pytestmark = pytest.mark.lab

LAB_SSH_PORT = 2222
SROS_DEVICES = ("alcala-gw1", "alcala-gw2")
SRLINUX_DEVICES = ("alcala-spine1", "alcala-spine2", "alcala-leaf1")

# One command per rule of the read-only guard that refuses; each is refused on both platforms.
REFUSED_BY_RULE = {
    "config-mode": "edit-config exclusive",
    "commit": "commit",
    "config-change": "delete interface ethernet-1/1",
    "admin": "admin reboot",
    "save": "save config",
    "file": "file remove /tmp/x",
    "tools": "tools system reboot",
    "clear": "clear interface statistics",
    "shell": "bash",
    "session-end": "quit",
    "session-context": "back",
    "session-environment": "environment more false",
    "debug": "debug router",
    "interactive": "ssh 192.0.2.1",
    "output-redirect": "show version > /tmp/x",
    "output-modifier": "show version | tee /tmp/x",
    "shell-syntax": "show version && reboot",
    "history": "!show",
    "unbalanced-quotes": 'show version | match "x',
    "control-character": "show version\nreboot",
    "empty": "   ",
    "not-read-only": "frobnicate",
}


# -- fixtures -----------------------------------------------------------------------------------------------


async def start_lab(directory: Path, **options: Any) -> Lab:
    """A one-site lab in its own 127.<block> range: spine1/2 and leaf1 (SR Linux), gw1/2 (SR OS), SSH only."""
    for attempt in range(8):
        identities = relocate(build_fleet(synthetic_sites(1), 5, ssh_port=LAB_SSH_PORT), random.randrange(100, 250))
        lab = Lab(identities, lab_dir=directory / f"lab{attempt}", ssh_port=LAB_SSH_PORT, gnmi=False, **options)
        try:
            await lab.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        return lab
    raise AssertionError("no free address block")  # pragma: no cover


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    started = await start_lab(tmp_path)
    yield started
    await started.stop()


@pytest.fixture
def inventory(lab: Lab) -> Inventory:
    inventory = lab.inventory()
    assert isinstance(inventory, Inventory)
    return inventory


@pytest.fixture
async def transport(inventory: Inventory, tmp_path: Path) -> AsyncIterator[OnDemandTransport]:
    transport = OnDemandTransport(inventory, known_hosts=KnownHosts(tmp_path / "known_hosts", user_files=()))
    yield transport
    await transport.aclose()


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "audit.jsonl") as log:
        yield log


def devices_of(inventory: Inventory, *names: str) -> list[Device]:
    return [device for device in inventory.devices if not names or device.name in names]


def audited(audit: AuditLog) -> list[Any]:
    """The record that says most about each command: its outcome (or its `sent` record, if it has none)."""
    return [command.entry for command in read_audited_commands(audit.path)]


def device_tasks() -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("run ") and not task.done()]


# -- streaming, timeouts and dropped sessions against the lab -----------------------------------------------------


async def test_results_stream_before_the_slowest_device_answers(
    lab: Lab, inventory: Inventory, transport: OnDemandTransport, audit: AuditLog
) -> None:
    runner = CommandRunner(transport, audit=None, timeout_s=20)
    assert all(result.ok for result in await collect(runner, "show version", devices_of(inventory)))  # warm up
    await lab.inject("alcala-gw1", "ssh-slow", seconds=3)  # every answer waits 3 s: a login would take many
    runner = CommandRunner(transport, audit=audit, timeout_s=20)
    progress = RunProgress(total=0)
    arrived: list[str] = []
    pending_at_first: set[str] = set()
    first_received_at = 0.0
    slow: CommandResult | None = None
    async for result in runner.run("@version", devices_of(inventory), progress=progress):
        if not arrived:
            pending_at_first, first_received_at = set(progress.pending), time.time()
        arrived.append(result.device)
        slow = result if result.device == "alcala-gw1" else slow
        assert result.ok, result.reason
    assert slow is not None
    assert first_received_at < slow.ended  # the first result was in our hands before the slow device answered
    assert "alcala-gw1" in pending_at_first
    assert arrived[0] != "alcala-gw1" and arrived[-1] == "alcala-gw1"
    assert sorted(arrived) == sorted(device.name for device in inventory.devices)
    assert progress.finished and progress.line() == "5/5 done"
    entries = audited(audit)
    assert sorted(entry.device for entry in entries) == sorted(arrived)
    commands = {entry.device: entry.command for entry in entries}
    assert commands["alcala-gw1"] == "show version" and commands["alcala-leaf1"] == "show version"
    assert all(entry.source == "run" and entry.ok and not entry.guard_lifted for entry in entries)


async def test_a_hung_device_times_out_while_the_others_succeed(
    lab: Lab, inventory: Inventory, transport: OnDemandTransport, audit: AuditLog
) -> None:
    await lab.inject("alcala-spine2", "ssh-hang")
    runner = CommandRunner(transport, audit=audit, timeout_s=4)
    results = {result.device: result for result in await collect(runner, "show version", devices_of(inventory))}
    hung = results.pop("alcala-spine2")
    assert not hung.ok and hung.failure is Failure.TIMEOUT
    assert "4 s" in hung.reason  # the reason tells the engineer the timeout that ran out
    assert all(result.ok for result in results.values()), [result.reason for result in results.values()]
    assert runner.progress is not None and runner.progress.line() == "5/5 done, 1 failed"
    by_device = {entry.device: entry for entry in audited(audit)}
    assert by_device["alcala-spine2"].failure == "timeout" and len(by_device) == 5


async def test_a_device_dropped_mid_command_fails_with_connection_lost(
    lab: Lab, inventory: Inventory, transport: OnDemandTransport, audit: AuditLog
) -> None:
    runner = CommandRunner(transport, audit=audit, timeout_s=10)
    assert all(result.ok for result in await collect(runner, "show version", devices_of(inventory)))
    await lab.inject("alcala-leaf1", "ssh-drop-mid-command")
    results = {result.device: result for result in await collect(runner, "@interfaces", devices_of(inventory))}
    dropped = results.pop("alcala-leaf1")
    assert not dropped.ok and dropped.failure is Failure.CONNECTION_LOST and dropped.reason
    assert all(result.ok for result in results.values()), [result.reason for result in results.values()]
    assert transport.sessions_opened == 5  # the second run reused the sessions of the first

    again = await collect(runner, "show version", devices_of(inventory, "alcala-leaf1"))
    assert again[0].ok  # the next command to that device opens a fresh session
    assert transport.sessions_opened == 6


async def test_a_device_that_rejects_the_login_fails_with_auth(
    lab: Lab, inventory: Inventory, transport: OnDemandTransport
) -> None:
    await lab.inject("alcala-gw2", "auth-reject")
    runner = CommandRunner(transport, audit=None, timeout_s=10)
    results = {result.device: result for result in await collect(runner, "show version", devices_of(inventory))}
    assert results["alcala-gw2"].failure == "auth" and not results["alcala-gw2"].ok
    assert [name for name, result in results.items() if not result.ok] == ["alcala-gw2"]


# -- the guard, through the runner ------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", sorted(REFUSED_BY_RULE))
async def test_every_refused_command_class_is_refused_on_both_platforms_and_never_sent(
    rule: str, lab: Lab, inventory: Inventory, transport: OnDemandTransport, audit: AuditLog
) -> None:
    runner = CommandRunner(transport, audit=audit, timeout_s=10)
    results = await collect(runner, REFUSED_BY_RULE[rule], devices_of(inventory))
    assert {device.platform for device in inventory.devices} >= {Platform.SRLINUX, Platform.SROS}
    assert len(results) == 5
    for result in results:
        assert not result.ok and result.failure is Failure.REFUSED and result.refused
        assert result.guard_rule == rule, result
    assert transport.sessions_opened == 0
    assert all(device.faults.ssh_connections == 0 for device in lab.devices.values())  # nothing reached a device
    entries = audited(audit)
    assert len(entries) == 5 and all(entry.failure == "refused" and not entry.ok for entry in entries)


async def test_an_output_modifier_is_allowed_and_the_device_answers_in_json(
    inventory: Inventory, transport: OnDemandTransport
) -> None:
    runner = CommandRunner(transport, audit=None, timeout_s=10)
    results = {result.device: result for result in await collect(runner, "show version | as json", inventory.devices)}
    assert not any(result.refused for result in results.values())  # allowed on both platforms
    for name in SRLINUX_DEVICES:
        assert results[name].ok
        assert json.loads(results[name].output)["basic system info"]["Hostname"] == name
    for name in SROS_DEVICES:  # the guard lets SR OS decide: `as` abbreviates as-json there
        assert results[name].failure in ("", "device-error")


async def test_a_command_refused_on_one_platform_still_runs_on_the_other(
    inventory: Inventory, transport: OnDemandTransport
) -> None:
    runner = CommandRunner(transport, audit=None, timeout_s=10)
    results = {result.device: result for result in await collect(runner, "show version | grep OS", inventory.devices)}
    assert all(results[name].ok for name in SRLINUX_DEVICES)
    assert all(results[name].refused for name in SROS_DEVICES)
    assert results["alcala-gw1"].guard_rule == "output-modifier"
    assert "rule output-modifier, SR OS" in results["alcala-gw1"].reason  # the refusal names the rule for a person
    assert runner.progress is not None and runner.progress.refused == 2


async def test_allow_config_sends_the_command_and_the_audit_log_says_the_guard_was_lifted(
    inventory: Inventory, transport: OnDemandTransport, audit: AuditLog
) -> None:
    runner = CommandRunner(transport, audit=audit, timeout_s=10)
    [result] = await collect(runner, "discard now", devices_of(inventory, "alcala-leaf1"), allow_config=True)
    assert result.failure == "device-error"  # it reached the device, which says there is nothing to discard
    [entry] = audited(audit)
    assert entry.guard_lifted and entry.command == "discard now" and entry.failure == "device-error"


async def test_aliases_expand_per_platform(inventory: Inventory, transport: OnDemandTransport) -> None:
    planned = {item.device.name: item.command for item in CommandRunner.plan("@interfaces", inventory.devices)}
    assert planned["alcala-leaf1"] == "show interface brief" and planned["alcala-gw1"] == "show port"
    runner = CommandRunner(transport, audit=None, timeout_s=10)
    results = {result.device: result for result in await collect(runner, "@interfaces", inventory.devices)}
    assert all(result.ok for result in results.values())
    assert results["alcala-gw1"].command == "show port" and "Ports on Slot 1" in results["alcala-gw1"].output
    with pytest.raises(AliasError):
        await collect(runner, "@versoin", inventory.devices)


# -- cancellation -------------------------------------------------------------------------------------------------


async def test_closing_the_iterator_cancels_devices_in_flight(
    lab: Lab, inventory: Inventory, transport: OnDemandTransport, audit: AuditLog
) -> None:
    await lab.inject("alcala-gw2", "ssh-slow", seconds=30)
    runner = CommandRunner(transport, audit=audit, timeout_s=60)
    stream = runner.run("show version", devices_of(inventory))
    seen = []
    async for result in stream:
        seen.append(result)
        if len(seen) == 4:
            break
    await stream.aclose()
    assert "alcala-gw2" not in {result.device for result in seen}
    assert device_tasks() == []  # nothing outlives the run
    entries = {entry.device: entry for entry in audited(audit)}
    assert entries["alcala-gw2"].failure == "cancelled" and not entries["alcala-gw2"].ok
    assert sum(entry.ok for entry in entries.values()) == 4


async def test_cancelling_the_consumer_cancels_every_device_task(
    lab: Lab, inventory: Inventory, transport: OnDemandTransport
) -> None:
    for name in ("alcala-gw1", "alcala-leaf1"):
        await lab.inject(name, "ssh-slow", seconds=30)
    runner = CommandRunner(transport, audit=None, timeout_s=60)
    first = asyncio.Event()
    received: list[CommandResult] = []

    async def consume() -> None:
        async for result in runner.run("show version", devices_of(inventory)):
            received.append(result)
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert device_tasks() == []
    assert {result.device for result in received}.isdisjoint({"alcala-gw1", "alcala-leaf1"})


# -- an in-memory transport, for what no device does on demand -----------------------------------------------------


class ScriptedTransport:
    """Answers from a table: a delay and an output per device, or an exception; counts concurrency."""

    def __init__(self, behaviour: dict[str, Callable[[], Awaitable[str]]] | None = None) -> None:
        self.behaviour = behaviour or {}
        self.in_flight = 0
        self.most_in_flight = 0
        self.sent: list[tuple[str, str]] = []
        self.closed = False

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        self.sent.append((device.name, command))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            answer = self.behaviour.get(device.name)
            output = await answer() if answer else f"{device.name}: {command}"
        finally:
            self.in_flight -= 1
        return CommandResult(device.name, command, output, started=0.0, ended=0.1, ok=True)

    async def aclose(self) -> None:
        self.closed = True


def fake_devices(count: int, platform: Platform = Platform.SRLINUX) -> list[Device]:
    return [
        Device(name=f"lab-leaf{n}", site="lab", role="leaf", platform=platform, model="7220 IXR-D2L", host="127.0.0.1")
        for n in range(1, count + 1)
    ]


async def test_at_most_max_parallel_devices_are_in_flight() -> None:
    async def slow() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    devices = fake_devices(20)
    transport = ScriptedTransport({device.name: slow for device in devices})
    runner = CommandRunner(transport, audit=None, max_parallel=3)
    results = await collect(runner, "show version", devices)
    assert len(results) == 20 and all(result.ok for result in results)
    assert transport.most_in_flight == 3


async def test_a_transport_that_raises_fails_that_device_only(tmp_path: Path) -> None:
    async def broken() -> str:
        raise RuntimeError("bug in a transport")

    devices = fake_devices(3)
    transport = ScriptedTransport({"lab-leaf2": broken})
    with AuditLog(tmp_path / "audit.jsonl") as audit:
        results = {
            result.device: result
            for result in await collect(CommandRunner(transport, audit=audit), "show version", devices)
        }
        assert results["lab-leaf2"].failure is Failure.ERROR and "bug in a transport" in results["lab-leaf2"].reason
        assert results["lab-leaf1"].ok and results["lab-leaf3"].ok
        assert len(read_audited_commands(audit.path)) == 3


async def test_a_transport_that_never_returns_is_cut_off_by_the_backstop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("edgeops.fleet.commands.BACKSTOP_GRACE_S", 0.05)

    async def never() -> str:
        await asyncio.Event().wait()
        return ""

    transport = ScriptedTransport({"lab-leaf1": never})
    results = await collect(CommandRunner(transport, audit=None, timeout_s=0.05), "show version", fake_devices(2))
    failed = [result for result in results if not result.ok]
    assert [(result.device, result.failure) for result in failed] == [("lab-leaf1", "timeout")]


async def test_refusals_come_first_and_allowed_devices_are_still_sent() -> None:
    gateway = Device(name="lab-gw1", site="lab", role="gateway", platform=Platform.SROS, model="7750", host="127.0.0.1")
    devices = [*fake_devices(2), gateway]
    transport = ScriptedTransport()
    results = await collect(CommandRunner(transport, audit=None), "info from state /system | grep name", devices)
    assert results[0].device == "lab-gw1" and results[0].refused
    assert sorted(name for name, _ in transport.sent) == ["lab-leaf1", "lab-leaf2"]


def test_progress_line() -> None:
    progress = RunProgress(total=136)
    assert progress.line() == "0/136 done"
    for n in range(37):
        ok = n not in (3, 9)
        progress.record(
            CommandResult(f"d{n}", "show version", "", 0.0, 0.1, ok=ok, failure=None if ok else Failure.TIMEOUT)
        )
    assert progress.line() == "37/136 done, 2 failed"
    assert progress.ok == 35 and not progress.finished


def test_runner_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        CommandRunner(ScriptedTransport(), audit=None, source="cron")
    with pytest.raises(ValueError):
        CommandRunner(ScriptedTransport(), audit=None, timeout_s=0)
    with pytest.raises(ValueError):
        CommandRunner(ScriptedTransport(), audit=None, max_parallel=0)


# -- the on-demand transport ----------------------------------------------------------------------------------------


async def test_sessions_are_opened_a_capped_number_at_a_time(
    inventory: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opening = 0
    most_opening = 0
    original_open = SshSession.open

    async def counting_open(session: SshSession) -> None:
        nonlocal opening, most_opening
        opening += 1
        most_opening = max(most_opening, opening)
        try:
            await original_open(session)
        finally:
            opening -= 1

    monkeypatch.setattr(SshSession, "open", counting_open)
    known_hosts = KnownHosts(tmp_path / "known_hosts", user_files=())
    async with OnDemandTransport(inventory, known_hosts=known_hosts, max_opening=2) as transport:
        results = await collect(CommandRunner(transport, audit=None, timeout_s=10), "show version", inventory.devices)
        assert all(result.ok for result in results) and transport.sessions_opened == 5
    assert most_opening == 2


async def test_devices_behind_a_jump_host_share_one_connection_to_it(tmp_path: Path) -> None:
    lab = await start_lab(tmp_path, jump_only=True)
    try:
        inventory = lab.inventory()
        assert all(device.jump for device in inventory.devices)
        known_hosts = KnownHosts(tmp_path / "known_hosts", user_files=())
        async with OnDemandTransport(inventory, known_hosts=known_hosts) as transport:
            runner = CommandRunner(transport, audit=None, timeout_s=10)
            results = await collect(runner, "@version", inventory.devices)
            assert all(result.ok for result in results), [result.reason for result in results]
            assert lab.jump_server is not None and lab.jump_server.stats.connections == 1
    finally:
        await lab.stop()
