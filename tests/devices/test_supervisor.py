"""DeviceSupervisor against the lab over real sockets, reporting into a recording sink: state order, commands,
rejected logins, gNMI refusals, jump hosts coming back, and stopping even when a cancellation is swallowed."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from edgeops.devices.backoff import BackoffPolicy
from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.ratelimit import ConnectLimiter
from edgeops.devices.samples import Failure, HealthSample, InterfaceSample, SessionState
from edgeops.devices.ssh import SshTarget
from edgeops.devices.supervisor import MIN_STALL_TIMEOUT_S, DeviceSupervisor, SupervisorSettings, cancel_and_wait
from edgeops.devices.tunnel import JumpHostPool, JumpSpec
from edgeops.inventory.model import Device
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites
from edgeops.logging_setup import device_logger
from edgeops.platforms import Platform

LAB_SSH_PORT = 2222
LAB_GNMI_PORT = 57400
EVENTUALLY_S = 20.0

pytestmark = pytest.mark.lab

FAST = SupervisorSettings(
    counter_interval_s=0.5,
    health_interval_s=2.0,
    ssh_poll_interval_s=1.0,
    connect_timeout_s=10.0,
    command_timeout_s=10.0,
    command_wait_s=10.0,
    keepalive_interval_s=5.0,
    backoff=BackoffPolicy(base_s=0.2, cap_s=1.0),
    severe_backoff=BackoffPolicy(base_s=30.0, cap_s=60.0, floor_s=30.0),
    gnmi_fallback_after=2,
    gnmi_retry_s=2.0,
)


class RecordingSink:
    """Stands in for the fleet store: keeps every call, in order."""

    def __init__(self) -> None:
        self.sessions: list[tuple[str, str, SessionState, str]] = []
        self.sources: list[str | None] = []
        self.intervals: list[float | None] = []
        self.interfaces: list[InterfaceSample] = []
        self.health: list[HealthSample] = []
        self.reject_interfaces = 0  # raise for this many interface batches, as a broken store would
        self.declared: list[tuple[tuple[str, ...], str]] = []
        self.group_states: list[tuple[str, Any, Any]] = []
        self.group_data: dict[str, int] = {}
        self.batches = 0

    def apply_interfaces(self, batch: InterfaceBatch) -> None:
        if self.reject_interfaces:
            self.reject_interfaces -= 1
            raise RuntimeError("the sink refused a batch")
        self.batches += 1
        self.interfaces.extend(batch.samples())

    def apply_health(self, sample: HealthSample) -> None:
        self.health.append(sample)

    def set_session(self, device: str, transport: Any, state: SessionState, detail: str = "") -> None:
        self.sessions.append((device, transport, state, detail))

    def set_telemetry_source(self, device: str, source: Any) -> None:
        self.sources.append(source)

    def set_expected_interval(self, device: str, seconds: float | None) -> None:
        self.intervals.append(seconds)

    def set_subscriptions(self, device: str, groups: Any, release: str) -> None:
        self.declared.append((tuple(spec.name for spec in groups), release))

    def set_subscription_state(self, device: str, group: str, state: Any, rejection: Any = None) -> None:
        self.group_states.append((group, state, rejection))

    def subscription_data(self, device: str, group: str) -> None:
        self.group_data[group] = self.group_data.get(group, 0) + 1

    def states(self, transport: str) -> list[SessionState]:
        """The states reported for one transport, repeats collapsed."""
        states: list[SessionState] = []
        for _, which, state, _ in self.sessions:
            if which == transport and (not states or states[-1] is not state):
                states.append(state)
        return states

    def last(self, transport: str) -> tuple[SessionState, str] | None:
        for _, which, state, detail in reversed(self.sessions):
            if which == transport:
                return state, detail
        return None


async def eventually(condition: Callable[[], bool], what: str, within: float = EVENTUALLY_S) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def start_lab(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Lab]]]:
    """A one-site lab (spine1/2, leaf1: SR Linux; gw1/2: SR OS) in its own 127.<block> range."""
    labs: list[Lab] = []

    async def start(**options: Any) -> Lab:
        for attempt in range(8):
            fleet = build_fleet(synthetic_sites(1), 5, ssh_port=LAB_SSH_PORT, gnmi_port=LAB_GNMI_PORT)
            lab = Lab(
                relocate(fleet, random.randrange(100, 250)),
                lab_dir=tmp_path / f"lab{len(labs)}-{attempt}",
                ssh_port=LAB_SSH_PORT,
                gnmi_port=LAB_GNMI_PORT,
                **options,
            )
            try:
                await lab.start()
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE and attempt < 7:
                    continue
                raise
            labs.append(lab)
            return lab
        raise AssertionError("no free address block")  # pragma: no cover

    yield start
    for lab in reversed(labs):
        await lab.stop()


@pytest.fixture
async def supervisors(tmp_path: Path) -> AsyncIterator[Callable[..., DeviceSupervisor]]:
    """Build started supervisors for lab devices (stopped after the test)."""
    made: list[DeviceSupervisor] = []
    known_hosts = KnownHosts(tmp_path / "known_hosts", user_files=())
    limiter = ConnectLimiter(8, 100.0)

    def make(device: Device, sink: RecordingSink, **options: Any) -> DeviceSupervisor:
        options.setdefault("settings", FAST)
        supervisor = DeviceSupervisor(
            device,
            sink=sink,
            known_hosts=known_hosts,
            limiter=limiter,
            password=lambda: "NokiaSrl1!",
            rng=random.Random(1),
            **options,
        )
        made.append(supervisor)
        supervisor.start()
        return supervisor

    yield make
    for supervisor in made:
        await supervisor.stop()


def lab_device(lab: Lab, name: str) -> Device:
    return lab.inventory().device(name)


async def test_states_are_reported_in_order_and_staleness_is_judged_on_the_interval_the_device_uses(
    start_lab: Callable[..., Awaitable[Lab]], supervisors: Callable[..., DeviceSupervisor]
) -> None:
    lab = await start_lab()
    srl_sink, sros_sink = RecordingSink(), RecordingSink()
    srl = supervisors(lab_device(lab, "alcala-leaf1"), srl_sink)
    sros = supervisors(lab_device(lab, "alcala-gw1"), sros_sink)
    await eventually(lambda: srl.gnmi_state is SessionState.UP and sros.gnmi_state is SessionState.UP, "gNMI up")
    await eventually(lambda: srl.ssh_state is SessionState.UP and sros.ssh_state is SessionState.UP, "SSH up")
    for sink in (srl_sink, sros_sink):
        assert sink.states("ssh") == [SessionState.CONNECTING, SessionState.UP]
        assert sink.states("gnmi") == [SessionState.CONNECTING, SessionState.UP]
        assert sink.sources == ["gnmi"]
    # SR Linux samples every 0.5 s as asked; SR OS never faster than once a second, so that is its interval.
    assert srl_sink.intervals == [0.5] and sros_sink.intervals == [1.0]
    # A silent stream is restarted after twice the stale time, but not sooner than the floor.
    assert srl.stall_timeout_s == sros.stall_timeout_s == MIN_STALL_TIMEOUT_S
    slow = DeviceSupervisor(
        lab_device(lab, "alcala-gw2"),
        sink=RecordingSink(),
        known_hosts=KnownHosts(Path("unused"), user_files=()),
        limiter=ConnectLimiter(),
        settings=replace(FAST, counter_interval_s=10.0),
    )
    assert slow.stall_timeout_s == 60.0
    await eventually(lambda: bool(srl_sink.health and sros_sink.interfaces), "samples")
    assert {sample.device for sample in srl_sink.interfaces} == {"alcala-leaf1"}
    assert srl.samples_applied == len(srl_sink.interfaces) + len(srl_sink.health)


async def test_a_groups_data_reaches_the_sink_at_most_once_a_second_not_with_every_notification(
    start_lab: Callable[..., Awaitable[Lab]], supervisors: Callable[..., DeviceSupervisor]
) -> None:
    lab = await start_lab()
    sink = RecordingSink()
    supervisors(lab_device(lab, "alcala-leaf1"), sink)  # counters every 0.5 s: two notifications a second
    await eventually(lambda: sink.batches >= 12, "a dozen counter notifications")
    # Each report is a store call and an event for every listener of the fleet; one a second shows staleness.
    assert 1 <= sink.group_data["counters"] < sink.batches * 0.75


async def test_the_last_batch_is_not_held_while_the_next_is_awaited(
    start_lab: Callable[..., Awaitable[Lab]], supervisors: Callable[..., DeviceSupervisor]
) -> None:
    # Between two notifications (seconds, on every stream of the fleet) the store has the data; the stream's
    # consumer keeping the batch too cost a megabyte and a half at 200 devices (docs/performance.md).
    lab = await start_lab()
    sink = RecordingSink()
    supervisor = supervisors(lab_device(lab, "alcala-leaf1"), sink)
    await eventually(lambda: sink.batches >= 3, "counter notifications")
    task = supervisor.groups["counters"].task
    assert task is not None
    for _ in range(10):  # the consumer, whenever the test runs, is waiting for the stream's next item
        consume = task.get_coro().cr_await  # type: ignore[union-attr]
        assert consume is not None and consume.cr_code.co_name == "_consume"
        assert "item" not in consume.cr_frame.f_locals
        await asyncio.sleep(0.1)


async def test_a_command_waits_for_a_session_still_connecting(
    start_lab: Callable[..., Awaitable[Lab]], supervisors: Callable[..., DeviceSupervisor]
) -> None:
    lab = await start_lab(gnmi=False)
    supervisor = supervisors(lab_device(lab, "alcala-spine1"), RecordingSink())
    result = await supervisor.run_command("show version")  # asked before the session is up
    assert result.ok and "alcala-spine1" in result.output
    await supervisor.stop()
    stopped = await supervisor.run_command("show version")
    assert not stopped.ok and stopped.failure is Failure.CONNECTION_LOST


async def test_a_rejected_login_fails_commands_at_once_and_is_not_retried_soon(
    start_lab: Callable[..., Awaitable[Lab]], supervisors: Callable[..., DeviceSupervisor]
) -> None:
    lab = await start_lab(gnmi=False)
    await lab.inject("alcala-leaf1", "auth-reject")
    sink = RecordingSink()
    supervisor = supervisors(lab_device(lab, "alcala-leaf1"), sink)
    await eventually(lambda: supervisor.ssh_state is SessionState.AUTH_FAILED, "auth-failed")
    result = await supervisor.run_command("show version")
    assert not result.ok and result.failure is Failure.AUTH
    await asyncio.sleep(1.5)  # a transient backoff would have retried several times by now
    assert lab.device("alcala-leaf1").faults.ssh_connections == 1
    assert sink.states("ssh") == [SessionState.CONNECTING, SessionState.AUTH_FAILED]


async def test_gnmi_failures_while_ssh_is_down_are_not_taken_for_a_device_without_gnmi(
    start_lab: Callable[..., Awaitable[Lab]], supervisors: Callable[..., DeviceSupervisor]
) -> None:
    lab = await start_lab()
    await lab.inject("alcala-spine2", "ssh-refuse")
    await lab.inject("alcala-spine2", "gnmi-refuse")
    sink = RecordingSink()
    supervisor = supervisors(lab_device(lab, "alcala-spine2"), sink)
    await eventually(lambda: sink.states("gnmi").count(SessionState.DOWN) >= 3, "several failed gNMI connects")
    # The whole device is unreachable: keep retrying gNMI, do not switch to polling over a dead SSH.
    assert SessionState.UNAVAILABLE not in sink.states("gnmi") and not supervisor.polling_over_ssh
    assert supervisor.ssh_state is SessionState.UNREACHABLE

    await lab.clear("alcala-spine2")
    await lab.inject("alcala-spine2", "gnmi-refuse")
    await eventually(lambda: supervisor.polling_over_ssh, "polling over SSH once SSH works and gNMI does not")
    assert sink.last("gnmi") == (SessionState.UNAVAILABLE, sink.last("gnmi")[1])  # type: ignore[index]
    assert "polled over SSH" in sink.last("gnmi")[1]  # type: ignore[index]
    await eventually(lambda: sink.sources[-1:] == ["ssh"] and bool(sink.health), "a health sample over SSH")
    assert sink.intervals[-1] == FAST.ssh_poll_interval_s


async def test_a_sample_the_sink_rejects_is_logged_and_the_stream_goes_on(
    start_lab: Callable[..., Awaitable[Lab]],
    supervisors: Callable[..., DeviceSupervisor],
    caplog: pytest.LogCaptureFixture,
) -> None:
    lab = await start_lab()
    sink = RecordingSink()
    sink.reject_interfaces = 3
    with caplog.at_level(logging.ERROR, logger="edgeops.devices.supervisor"):
        supervisor = supervisors(lab_device(lab, "alcala-spine1"), sink)
        await eventually(lambda: len(sink.interfaces) > 50, "samples after the rejected ones")
    assert supervisor.gnmi_streams == 1 and supervisor.gnmi_state is SessionState.UP
    assert caplog.text.count("could not apply gNMI data") == 3


async def test_a_jump_host_coming_back_wakes_its_devices_at_once(
    start_lab: Callable[..., Awaitable[Lab]], supervisors: Callable[..., DeviceSupervisor], tmp_path: Path
) -> None:
    lab = await start_lab(jump_only=True)
    jump = lab.jump
    assert jump is not None and lab.jump_server is not None
    pool = JumpHostPool(
        known_hosts=KnownHosts(tmp_path / "jump_known_hosts", user_files=()),
        connect_timeout_s=10.0,
        backoff_base_s=0.1,
        backoff_cap_s=0.3,
    )
    spec = JumpSpec(jump.name, jump.host, jump.port, jump.username, use_agent=False, password=lambda: jump.password)
    name = pool.add(spec)
    # So slow a backoff that only the wake-up from the jump host can bring the devices back within the test.
    patient = replace(FAST, backoff=BackoffPolicy(base_s=120.0, cap_s=120.0, floor_s=120.0))
    sinks = {device: RecordingSink() for device in ("alcala-spine1", "alcala-gw2")}
    running = [
        supervisors(lab_device(lab, device), sink, jumps=pool, jump=name, settings=patient)
        for device, sink in sinks.items()
    ]
    pool.add_listener(lambda _jump, state: [supervisor.on_jump_state(state) for supervisor in running])
    try:
        await eventually(lambda: all(s.ssh_state is SessionState.UP for s in running), "SSH up via the jump host")
        await eventually(lambda: all(s.gnmi_state is SessionState.UP for s in running), "gNMI up via the jump host")
        assert all(sink.last("ssh") == (SessionState.UP, f"via {name}") for sink in sinks.values())

        await lab.jump_server.stop()
        await eventually(lambda: all(s.ssh_state is not SessionState.UP for s in running), "SSH down together")
        await eventually(lambda: all(s.gnmi_state is not SessionState.UP for s in running), "gNMI down together")
        await lab.jump_server.start()
        await eventually(lambda: all(s.ssh_state is SessionState.UP for s in running), "SSH back together")
        await eventually(lambda: all(s.gnmi_state is SessionState.UP for s in running), "gNMI back together")
        assert pool.connections_opened(name) == 2 and jump.stats.connections == 2
        assert all(s.ssh_opens == 2 and s.gnmi_streams == 2 for s in running)
    finally:
        for supervisor in running:
            await supervisor.stop()
        await pool.close()


def test_a_jump_host_needs_the_pool() -> None:
    device = Device("d", "s", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.0.2")
    with pytest.raises(ValueError):
        DeviceSupervisor(
            device,
            sink=RecordingSink(),
            known_hosts=KnownHosts(Path("unused"), user_files=()),
            limiter=ConnectLimiter(),
            ssh_target=SshTarget.from_device(device),
            jump="bastion",
        )


async def test_stopping_cancels_again_when_a_cancellation_is_swallowed() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed == 0:  # as asyncio.wait_for does on 3.11 when the awaited call just completed
                    swallowed += 1
                    continue
                raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    async with asyncio.timeout(10):
        await cancel_and_wait([task], device_logger(__name__, "test"))
    assert task.cancelled() and swallowed == 1
    with contextlib.suppress(asyncio.CancelledError):
        await task
