"""OnDemandTransport: a command's timeout is the budget of the login and the command together."""

from __future__ import annotations

from pathlib import Path

from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.on_demand import OnDemandTransport
from edgeops.inventory.model import Device, Inventory
from edgeops.platforms import Platform


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedSession:
    """Stands in for an SshSession: its login takes `login_s` of the fake clock; it records the timeouts it gets."""

    def __init__(self, clock: Clock, login_s: float, answer: Failure | None = None) -> None:
        self.clock, self.login_s, self.answer = clock, login_s, answer
        self.alive = False
        self.connect_timeout_s = 0.0
        self.login_budgets: list[float] = []
        self.command_timeouts: list[float] = []

    async def open(self) -> None:
        self.login_budgets.append(self.connect_timeout_s)
        self.clock.now += self.login_s
        self.alive = True

    async def run(self, command: str, timeout: float) -> CommandResult:  # noqa: ASYNC109 (SshSession's signature)
        self.command_timeouts.append(timeout)
        if self.answer is None:
            return CommandResult("d1", command, "ok", 0.0, 0.0, ok=True)
        reason = f"timeout after {timeout:g} s waiting for the prompt; the session was closed"
        return CommandResult.failed("d1", command, failure=self.answer, reason=reason, started=0.0)


def transport_with(tmp_path: Path, session: ScriptedSession, clock: Clock, **options: float) -> OnDemandTransport:
    device = Device(
        name="d1", site="lab", role="leaf", platform=Platform.SRLINUX, model="7220 IXR-D3L", host="127.0.0.1"
    )
    transport = OnDemandTransport(
        Inventory(devices=(device,)), known_hosts=KnownHosts(tmp_path / "known_hosts", user_files=()), clock=clock
    )
    transport.connect_timeout_s = options.get("connect_timeout_s")
    transport._sessions["d1"] = session  # type: ignore[assignment]
    return transport


async def test_the_command_has_what_the_login_left_of_the_timeout(tmp_path: Path) -> None:
    clock = Clock()
    session = ScriptedSession(clock, login_s=3.0)
    transport = transport_with(tmp_path, session, clock)
    device = transport.inventory.device("d1")
    assert (await transport.run_command(device, "show version", timeout_s=20.0)).ok
    assert session.login_budgets == [20.0]  # no connect timeout set: the login may take the whole budget
    assert session.command_timeouts == [17.0]
    # The session is open now: the next command has the whole budget.
    assert (await transport.run_command(device, "show version", timeout_s=20.0)).ok
    assert session.command_timeouts == [17.0, 20.0]


async def test_a_connect_timeout_caps_the_login_only_below_the_budget(tmp_path: Path) -> None:
    clock = Clock()
    capped = ScriptedSession(clock, login_s=1.0)
    transport = transport_with(tmp_path, capped, clock, connect_timeout_s=5.0)
    await transport.run_command(transport.inventory.device("d1"), "show version", timeout_s=20.0)
    roomy = ScriptedSession(clock, login_s=1.0)
    transport = transport_with(tmp_path, roomy, clock, connect_timeout_s=60.0)
    await transport.run_command(transport.inventory.device("d1"), "show version", timeout_s=20.0)
    assert (capped.login_budgets, roomy.login_budgets) == ([5.0], [20.0])


async def test_a_command_timing_out_after_a_long_login_says_where_the_time_went(tmp_path: Path) -> None:
    clock = Clock()
    session = ScriptedSession(clock, login_s=16.5, answer=Failure.TIMEOUT)
    transport = transport_with(tmp_path, session, clock)
    result = await transport.run_command(transport.inventory.device("d1"), "show version", timeout_s=20.0)
    assert result.failure is Failure.TIMEOUT
    assert result.reason.startswith("timeout: the login took 16.5 s of the 20 s budget; timeout after 3.5 s")


async def test_a_login_that_used_the_whole_budget_sends_nothing(tmp_path: Path) -> None:
    clock = Clock()
    session = ScriptedSession(clock, login_s=20.0)
    transport = transport_with(tmp_path, session, clock)
    result = await transport.run_command(transport.inventory.device("d1"), "show version", timeout_s=20.0)
    assert (result.failure, session.command_timeouts) == (Failure.TIMEOUT, [])
    assert result.reason == "timeout: the login took 20.0 s of the 20 s budget"
