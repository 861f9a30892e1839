"""Fan-out of one command to many devices: aliases, the read-only guard, the audit log, results as they complete."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass

from edgeops.defaults import COMMAND_TIMEOUT_S
from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.aliases import expand
from edgeops.fleet.audit import SOURCES, AuditEntry, AuditLog, AuditWriter, local_user
from edgeops.fleet.command_transport import CommandTransport
from edgeops.fleet.guard import GuardVerdict, check
from edgeops.fleet.progress import RunProgress
from edgeops.fleet.results import GUARD_REFUSAL_PREFIX
from edgeops.inventory.model import Device
from edgeops.platforms import Platform

log = logging.getLogger(__name__)

ResultListener = Callable[[CommandResult, str, str, str], None]
"""Told of each result with its audit run id, command id and the local user."""

DEFAULT_MAX_PARALLEL = 200
# The transport enforces the per-device timeout itself (the SSH session adds its own 2 s grace); the runner's
# backstop, beyond it, only catches a transport that never returns.
BACKSTOP_GRACE_S = 5.0


@dataclass(frozen=True)
class PlannedCommand:
    """What one device will be sent (the alias expanded for its platform) and the guard's verdict on it."""

    device: Device
    command: str
    verdict: GuardVerdict

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed

    @property
    def guard_lifted(self) -> bool:
        return self.verdict.rule == "guard-lifted"


class CommandRunner:
    """Sends one command to many devices through a CommandTransport and yields each result as it completes.

    Per device: the alias is expanded for its platform, the guard checks the command on that platform (a refusal
    becomes a failed result, failure "refused", and nothing is sent), a `sent` record is on disk before the command
    goes to the transport (write-ahead: a process killed mid-command leaves it, and the reader says "outcome
    unknown"), the command runs with a per-device timeout, and its outcome record is on disk before the result is
    yielded. At most `max_parallel` devices are in flight.
    """

    def __init__(
        self,
        transport: CommandTransport,
        *,
        audit: AuditLog | None,
        timeout_s: float = COMMAND_TIMEOUT_S,
        max_parallel: int = DEFAULT_MAX_PARALLEL,
        source: str = "run",
        clock: Callable[[], float] = time.time,
        on_result: ResultListener | None = None,
        timeout_for: Callable[[Device], float] | None = None,
    ) -> None:
        """on_result: told of every result with its audit run id, command id and the local user (a recording
        keeps them beside the telemetry). timeout_for: a device's own timeout (config.toml's [site.CODE]
        command_timeout), else `timeout_s`."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        if timeout_s <= 0:
            raise ValueError("the per-device timeout must be positive")
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self.transport = transport
        self.audit = audit
        self.timeout_s = timeout_s
        self.max_parallel = max_parallel
        self.source = source
        self._clock = clock
        self._user = local_user()
        self._on_result = on_result
        self._timeout_for = timeout_for
        self.progress: RunProgress | None = None  # of the latest run

    @staticmethod
    def plan(command: str, devices: Sequence[Device], *, allow_config: bool = False) -> list[PlannedCommand]:
        """Expand and check the command for every device without sending anything.

        Raises AliasError (an unknown alias or a bad argument: a usage error, the same for every device).
        """
        per_platform: dict[Platform, tuple[str, GuardVerdict]] = {}
        planned = []
        for device in devices:
            if device.platform not in per_platform:
                sent = expand(command, device.platform)
                per_platform[device.platform] = (sent, check(sent, device.platform, allow_config=allow_config))
            sent, verdict = per_platform[device.platform]
            planned.append(PlannedCommand(device, sent, verdict))
        return planned

    async def run(
        self,
        command: str,
        devices: Sequence[Device],
        *,
        allow_config: bool = False,
        progress: RunProgress | None = None,
    ) -> AsyncGenerator[CommandResult, None]:
        """Yield one CommandResult per device, in the order they complete.

        Closing the iterator early (or cancelling the task iterating it) cancels every device still in flight;
        nothing more is yielded. Raises AliasError before anything is sent if the command is an unusable alias.
        """
        planned = self.plan(command, devices, allow_config=allow_config)
        run_id = uuid.uuid4().hex[:16]
        ids = {id(item): f"{run_id}.{number}" for number, item in enumerate(planned, start=1)}
        progress = progress or RunProgress(total=len(planned))
        progress.total = len(planned)
        progress.pending = {item.device.name for item in planned}
        self.progress = progress
        slots = asyncio.Semaphore(self.max_parallel)
        # fsync costs milliseconds: records are written on a thread of their own (so 200 devices finishing together
        # do not stall the event loop and the console drawn on it), and those that finish together share one write
        # and one fsync (group commit).
        writer = AuditWriter(self.audit) if self.audit is not None else None
        tasks = [
            asyncio.create_task(
                self._run_one(item, slots, writer, run_id, ids[id(item)]), name=f"run {item.device.name}"
            )
            for item in planned
            if item.allowed
        ]
        # A queue fed by done-callbacks hands over each finished task in O(1); asyncio.wait() over the pending
        # set would cost O(devices) per result.
        finished: asyncio.Queue[asyncio.Task[CommandResult]] = asyncio.Queue()
        for task in tasks:
            task.add_done_callback(finished.put_nowait)
        if tasks:
            log.info("sending %r to %d device(s)%s", command, len(tasks), " (guard lifted)" if allow_config else "")
        try:
            refusals = [(self._refusal(item), item) for item in planned if not item.allowed]
            if refusals and self.audit is not None:
                # On the loop, before anything is yielded: nothing was sent, and the record must not be lost.
                self.audit.record_many(
                    [self._audit_entry(result, item, run_id, ids[id(item)]) for result, item in refusals]
                )
            command_ids = {item.device.name: ids[id(item)] for item in planned}
            for result, _ in refusals:
                progress.record(result)
                self._tell(result, run_id, command_ids.get(result.device, ""))
                yield result
            for _ in range(len(tasks)):
                result = (await finished.get()).result()
                progress.record(result)
                self._tell(result, run_id, command_ids.get(result.device, ""))
                yield result
        finally:
            await _cancel(tasks)
            if writer is not None:
                await writer.aclose()  # the records of devices cancelled just now, at most

    def _tell(self, result: CommandResult, run_id: str, command_id: str) -> None:
        if self._on_result is not None:
            try:
                self._on_result(result, run_id, command_id, self._user)
            except Exception:  # a listener's bug must not cost the run its results
                log.exception("a command result listener failed")

    async def _run_one(
        self, item: PlannedCommand, slots: asyncio.Semaphore, writer: AuditWriter | None, run_id: str, command_id: str
    ) -> CommandResult:
        async with slots:
            started = self._clock()
            if writer is not None:
                # Write-ahead: the command does not leave before its record is on disk (records of devices starting
                # together share one fsync). A write error (OSError) ends the run before this command is sent.
                sent = AuditEntry.sent(
                    item.device,
                    item.command,
                    sent_at=started,
                    source=self.source,
                    run_id=run_id,
                    command_id=command_id,
                    guard_lifted=item.guard_lifted,
                    user=self._user,
                )
                try:
                    await writer.write(sent)
                except asyncio.CancelledError:
                    # Shielded: the `sent` record still lands; its outcome says the command never went out.
                    writer.submit(self._audit_entry(self._cancelled(item, started), item, run_id, command_id))
                    raise
            timeout_s = self.timeout_of(item.device)
            try:
                async with asyncio.timeout(self._backstop_s(timeout_s)):
                    result = await self.transport.run_command(item.device, item.command, timeout_s=timeout_s)
            except asyncio.CancelledError:
                # Abandoned mid-flight: the command may have reached the device, so the audit log says so (the run
                # waits for the writer before it ends).
                if writer is not None:
                    writer.submit(self._audit_entry(self._cancelled(item, started), item, run_id, command_id))
                raise
            except TimeoutError:
                result = self._failed(
                    item, started, Failure.TIMEOUT, f"timeout after {self._backstop_s(timeout_s):g} s (no answer)"
                )
            except Exception as exc:  # a transport must not raise; if one does, this device fails, not the run
                log.exception("%s: the transport raised instead of returning a result", item.device.name)
                result = self._failed(item, started, Failure.ERROR, f"internal error: {exc!r}")
            if writer is not None:
                # Shielded inside: a run cancelled now must not drop the record of a command that was answered.
                await writer.write(self._audit_entry(result, item, run_id, command_id))
            return result

    def timeout_of(self, device: Device) -> float:
        """The device's timeout: its site's own (timeout_for) or the run's."""
        return self._timeout_for(device) if self._timeout_for is not None else self.timeout_s

    @staticmethod
    def _backstop_s(timeout_s: float) -> float:
        """Transports enforce the timeout themselves; this only catches one that does not (twice it, with room)."""
        return 2 * timeout_s + BACKSTOP_GRACE_S

    def _cancelled(self, item: PlannedCommand, started: float) -> CommandResult:
        return self._failed(item, started, Failure.CANCELLED, "cancelled before the device answered")

    def _failed(self, item: PlannedCommand, started: float, failure: Failure, reason: str) -> CommandResult:
        return CommandResult.failed(
            item.device.name, item.command, failure=failure, reason=reason, started=started, ended=self._clock()
        )

    def _refusal(self, item: PlannedCommand) -> CommandResult:
        message = item.verdict.message
        if not message.startswith(GUARD_REFUSAL_PREFIX):  # empty lines, control characters
            message = f"{GUARD_REFUSAL_PREFIX} (rule {item.verdict.rule}): {message}"
        return CommandResult.failed(
            item.device.name,
            item.command,
            failure=Failure.REFUSED,
            reason=message,
            started=self._clock(),
            guard_rule=item.verdict.rule,
        )

    def _audit_entry(self, result: CommandResult, item: PlannedCommand, run_id: str, command_id: str) -> AuditEntry:
        return AuditEntry.for_result(
            result,
            item.device,
            source=self.source,
            guard_lifted=item.guard_lifted,
            user=self._user,
            run_id=run_id,
            command_id=command_id,
        )


async def _cancel(tasks: Sequence[asyncio.Task[CommandResult]]) -> None:
    """Cancel what is still running and wait for it, so no device task outlives its run."""
    unfinished = [task for task in tasks if not task.done()]
    for task in unfinished:
        task.cancel()
    if unfinished:
        await asyncio.wait(unfinished)  # never raises for the tasks' own errors or cancellation


async def collect(
    runner: CommandRunner, command: str, devices: Sequence[Device], *, allow_config: bool = False
) -> list[CommandResult]:
    """Every result of a run, in completion order (for callers that do not stream)."""
    return [result async for result in runner.run(command, devices, allow_config=allow_config)]
