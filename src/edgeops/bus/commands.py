"""Commands over the bus: a console asks the collector that owns a device (request/reply on the device's command
subject); the collector checks the command with its own guard, runs it on its session and answers with the result.

The request carries the command, the timeout and the requesting user (the console writes the audit log, with that
user, before the request leaves); never a secret. A user the server does not allow to publish on command subjects
(a viewer) is refused by the server itself: the transport turns that refusal into a failed result at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from edgeops.bus.subjects import command_subject
from edgeops.bus.tasks import stop_tasks
from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.guard import check
from edgeops.inventory.model import Device

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
# A reply must fit in one message (the server's max_payload, 1 MiB by default): longer output is cut, and says so.
MAX_REPLY_OUTPUT = 512 * 1024
TRUNCATED_NOTE = "\n[output cut to fit one bus message]"
# Beyond the command's own timeout, for the trip to the collector and back.
REPLY_GRACE_S = 5.0


@dataclass(frozen=True)
class CommandRequest:
    """What a console asks of the collector that owns `device`."""

    device: str
    command: str
    timeout_s: float
    user: str

    def encode(self) -> bytes:
        return json.dumps(
            {
                "version": PROTOCOL_VERSION,
                "device": self.device,
                "command": self.command,
                "timeout_s": self.timeout_s,
                "user": self.user,
            }
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> CommandRequest:
        """Raises ValueError on anything that is not a request of this version."""
        fields = json.loads(data)
        if not isinstance(fields, dict) or fields.get("version") != PROTOCOL_VERSION:
            raise ValueError("not an edgeops command request of this version")
        device, command, timeout_s, user = (fields.get(k) for k in ("device", "command", "timeout_s", "user"))
        if not (isinstance(device, str) and isinstance(command, str) and isinstance(user, str)):
            raise ValueError("device, command and user must be text")
        if not isinstance(timeout_s, int | float) or timeout_s <= 0:
            raise ValueError("timeout_s must be a positive number")
        return cls(device, command, float(timeout_s), user)


def encode_result(result: CommandResult) -> bytes:
    output = result.output
    if len(output) > MAX_REPLY_OUTPUT:
        output = output[:MAX_REPLY_OUTPUT] + TRUNCATED_NOTE
    return json.dumps(
        {
            "version": PROTOCOL_VERSION,
            "device": result.device,
            "command": result.command,
            "output": output,
            "started": result.started,
            "ended": result.ended,
            "ok": result.ok,
            "reason": result.reason,
            "failure": None if result.failure is None else result.failure.value,
            "guard_rule": result.guard_rule,
        }
    ).encode()


def decode_result(data: bytes) -> CommandResult:
    """Raises ValueError (or KeyError, TypeError) on a reply that is not one of ours."""
    fields = json.loads(data)
    if not isinstance(fields, dict) or fields.pop("version", None) != PROTOCOL_VERSION:
        raise ValueError("not an edgeops command reply of this version")
    failure = fields.pop("failure")
    return CommandResult(**fields, failure=None if failure is None else Failure(failure))


class BusCommandTransport:
    """The command runner's transport on a console fed by the bus (fleet.command_transport.CommandTransport)."""

    def __init__(self, client: Client, user: str, *, permission_errors: PermissionErrors) -> None:
        self.client = client
        self.user = user
        self.permission_errors = permission_errors

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        started = time.time()
        subject = command_subject(device.site, device.name)
        request = CommandRequest(device.name, command, timeout_s, self.user)
        refused = self.permission_errors.watch(subject)
        try:
            asking: asyncio.Future[Msg] = asyncio.ensure_future(
                self.client.request(subject, request.encode(), timeout=timeout_s + REPLY_GRACE_S)
            )
            waiting: set[asyncio.Future[Any]] = {asking, refused}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if refused in done:
                asking.cancel()
                return CommandResult.failed(
                    device.name,
                    command,
                    failure=Failure.REFUSED,
                    reason=f"the bus refused the command: {refused.result()}",
                    started=started,
                    ended=time.time(),
                    guard_rule="bus-permission",
                )
            reply: Msg = asking.result()
        except NoRespondersError:
            return CommandResult.failed(
                device.name,
                command,
                failure=Failure.NOT_CONNECTED,
                reason="no collector holds this device",
                started=started,
                ended=time.time(),
            )
        except (TimeoutError, NatsTimeout):
            return CommandResult.failed(
                device.name,
                command,
                failure=Failure.TIMEOUT,
                reason=f"no answer from the collector within {timeout_s + REPLY_GRACE_S:g} s",
                started=started,
                ended=time.time(),
            )
        except Exception as error:  # a lost bus, a closed connection: this device fails, not the run
            return CommandResult.failed(
                device.name,
                command,
                failure=Failure.CONNECTION_LOST,
                reason=f"the bus: {error}",
                started=started,
                ended=time.time(),
            )
        finally:
            self.permission_errors.forget(subject, refused)
        try:
            return decode_result(reply.data)
        except (ValueError, KeyError, TypeError) as error:
            return CommandResult.failed(
                device.name,
                command,
                failure=Failure.ERROR,
                reason=f"the collector's answer is not readable: {error}",
                started=started,
                ended=time.time(),
            )

    async def aclose(self) -> None:
        pass


class PermissionErrors:
    """Hands the server's "Permissions Violation for Publish to <subject>" to whoever waits on that subject.

    nats-py reports the violation through the connection's error callback only; without this a refused request
    would wait for its whole timeout.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future[str]]] = {}

    def watch(self, subject: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(subject, []).append(future)
        return future

    def forget(self, subject: str, future: asyncio.Future[str]) -> None:
        waiting = self._waiting.get(subject, [])
        if future in waiting:
            waiting.remove(future)
        if not waiting:
            self._waiting.pop(subject, None)
        future.cancel()

    def offer(self, error: Exception) -> bool:
        """Whether `error` was a publish refusal someone waited for."""
        text = str(error)
        marker = "permissions violation for publish to"
        lowered = text.lower()
        if marker not in lowered:
            return False
        subject = text[lowered.index(marker) + len(marker) :].strip().strip("\"'")
        waiting = self._waiting.pop(subject, [])
        for future in waiting:
            if not future.done():
                future.set_result("this bus user may not send commands")
        return bool(waiting)


RunOnSession = Callable[[Device, str, float], Awaitable[CommandResult]]


class CommandResponder:
    """The collector's side: answers command requests for the devices it holds, through its guard.

    The guard is the collector's own (`allow_config` is its setting, never the requester's): a console cannot lift
    it. Each request is logged with the requesting user.
    """

    def __init__(self, client: Client, run: RunOnSession, *, allow_config: bool = False, max_timeout_s: float = 300.0):
        self.client = client
        self.run = run
        self.allow_config = allow_config
        self.max_timeout_s = max_timeout_s
        self._subscriptions: dict[str, object] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, device: Device) -> None:
        """Answer requests for `device` (this collector holds its lease)."""
        if device.name in self._subscriptions:
            return

        async def handler(msg: Msg) -> None:
            task = asyncio.create_task(self._answer(device, msg), name=f"bus command {device.name}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._subscriptions[device.name] = await self.client.subscribe(
            command_subject(device.site, device.name), cb=handler
        )

    async def stop_serving(self, device: Device) -> None:
        subscription = self._subscriptions.pop(device.name, None)
        if subscription is not None:
            await subscription.unsubscribe()  # type: ignore[attr-defined]

    async def _answer(self, device: Device, msg: Msg) -> None:
        started = time.time()
        try:
            request = CommandRequest.decode(msg.data)
            if request.device != device.name:
                raise ValueError(f"the request names {request.device!r}, sent on {device.name}'s subject")
        except (ValueError, UnicodeDecodeError) as error:
            result = CommandResult.failed(
                device.name, "", failure=Failure.ERROR, reason=f"unreadable request: {error}", started=started
            )
        else:
            verdict = check(request.command, device.platform, allow_config=self.allow_config)
            log.info("%s: %r asked by %s over the bus", device.name, request.command, request.user)
            if not verdict.allowed:
                result = CommandResult.failed(
                    device.name,
                    request.command,
                    failure=Failure.REFUSED,
                    reason=f"refused by the collector's guard (rule {verdict.rule}): {verdict.message}",
                    started=started,
                    guard_rule=verdict.rule,
                )
            else:
                result = await self.run(device, request.command, min(request.timeout_s, self.max_timeout_s))
        if msg.reply:
            await msg.respond(encode_result(result))

    async def aclose(self) -> None:
        for name in list(self._subscriptions):
            subscription = self._subscriptions.pop(name)
            try:
                await subscription.unsubscribe()  # type: ignore[attr-defined]
            except Exception as error:  # the connection may be gone already
                log.debug("unsubscribing %s: %r", name, error)
        await stop_tasks(list(self._tasks))
