"""Commands over the real nats-server with users and subject permissions: an operator's command reaches the collector
that holds the device and comes back; a viewer's is refused by the server; the collector's guard has the last word."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from edgeops.bus.commands import BusCommandTransport, CommandResponder, PermissionErrors
from edgeops.bus.connection import BusSettings, connect_bus
from edgeops.devices.samples import CommandResult, Failure
from edgeops.inventory.model import Device
from edgeops.platforms import Platform

# The example of docs/scale-out.md: collectors may do everything; operators may send commands but not publish
# telemetry or write the buckets; viewers read the state and the stream and nothing else.
SERVER_CONFIG = """
authorization {
  users = [
    {user: collector, password: collector-secret}
    {user: operator, password: operator-secret, permissions: {
      publish: {deny: ["edgeops.*.*.telemetry", "$KV.>"]}
    }}
    {user: viewer, password: viewer-secret, permissions: {
      publish: {allow: [
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*",
        "$JS.API.CONSUMER.CREATE.EDGEOPS_EVENTS", "$JS.API.CONSUMER.CREATE.EDGEOPS_EVENTS.>",
        "$JS.API.CONSUMER.CREATE.KV_edgeops-state", "$JS.API.CONSUMER.CREATE.KV_edgeops-state.>",
        "$JS.API.CONSUMER.DELETE.EDGEOPS_EVENTS.>", "$JS.API.CONSUMER.DELETE.KV_edgeops-state.>",
        "$JS.API.STREAM.MSG.GET.KV_edgeops-state", "$JS.API.DIRECT.GET.KV_edgeops-state.>",
        "$JS.FC.>", "_INBOX.>"
      ]}
      subscribe: {allow: ["_INBOX.>"]}
    }}
  ]
}
"""

DEVICE = Device(
    name="leaf1", site="lab", role="leaf", platform=Platform.SRLINUX, model="7220 IXR-D2L", host="127.0.0.1"
)


def settings(url: str, user: str) -> BusSettings:
    return BusSettings.from_url(url, {"EDGEOPS_BUS_USER": user, "EDGEOPS_BUS_PASSWORD": f"{user}-secret"})


@pytest.fixture(scope="module")
def secured(start_nats_server):
    return start_nats_server(SERVER_CONFIG)


class Session:
    """Stands where the collector's SSH session stands: answers every command with its own words."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    async def run(self, device: Device, command: str, timeout_s: float) -> CommandResult:
        self.ran.append(command)
        now = time.time()
        return CommandResult(device.name, command, f"output of {command}", now, now, ok=True)


@pytest.fixture
async def collector(secured) -> AsyncIterator[Session]:
    session = Session()
    client = await connect_bus(settings(secured.url, "collector"), name="test collector")
    responder = CommandResponder(client, session.run)
    await responder.serve(DEVICE)
    yield session
    await responder.aclose()
    await client.close()


async def transport_for(url: str, user: str) -> BusCommandTransport:
    errors = PermissionErrors()

    async def on_error(error: Exception) -> None:
        errors.offer(error)

    client = await connect_bus(settings(url, user), name=f"test {user}", on_error=on_error)
    return BusCommandTransport(client, "engineer", permission_errors=errors)


async def test_an_operators_command_runs_on_the_collectors_session(secured, collector: Session) -> None:
    transport = await transport_for(secured.url, "operator")
    try:
        result = await transport.run_command(DEVICE, "show version", timeout_s=10)
    finally:
        await transport.client.close()
    assert result.ok, result.reason
    assert result.output == "output of show version"
    assert collector.ran == ["show version"]


async def test_a_viewer_is_refused_a_command_by_the_server(secured, collector: Session) -> None:
    transport = await transport_for(secured.url, "viewer")
    try:
        result = await transport.run_command(DEVICE, "show version", timeout_s=10)
    finally:
        await transport.client.close()
    assert result.failure is Failure.REFUSED and result.guard_rule == "bus-permission", result.reason
    assert collector.ran == []  # nothing reached the collector


async def test_the_collectors_guard_refuses_what_the_console_let_through(secured, collector: Session) -> None:
    transport = await transport_for(secured.url, "operator")
    try:
        result = await transport.run_command(DEVICE, "show version; commit now", timeout_s=10)
    finally:
        await transport.client.close()
    assert result.failure is Failure.REFUSED and result.guard_rule == "commit", result.reason
    assert collector.ran == []


async def test_a_device_nobody_holds_fails_at_once(secured) -> None:
    transport = await transport_for(secured.url, "operator")
    other = Device(name="leaf9", site="lab", role="leaf", platform=Platform.SRLINUX, model="x", host="127.0.0.1")
    try:
        result = await transport.run_command(other, "show version", timeout_s=10)
    finally:
        await transport.client.close()
    assert result.failure is Failure.NOT_CONNECTED, result.reason


async def test_a_wrong_password_is_a_clear_error(secured) -> None:
    from edgeops.bus.connection import BusUnreachable

    wrong = BusSettings.from_url(secured.url, {"EDGEOPS_BUS_USER": "viewer", "EDGEOPS_BUS_PASSWORD": "nope"})
    with pytest.raises(BusUnreachable) as raised:
        await connect_bus(wrong, name="test")
    assert secured.url in str(raised.value) and "nope" not in str(raised.value)
    assert "authorization" in raised.value.cause.lower()


async def test_an_unreachable_bus_names_the_url_and_the_cause(secured) -> None:
    from edgeops.bus.connection import BusUnreachable

    url = f"nats://{secured.host}:1"
    with pytest.raises(BusUnreachable) as raised:
        await connect_bus(BusSettings.from_url(url, {}), name="test")
    assert raised.value.url == url and "refused" in raised.value.cause
