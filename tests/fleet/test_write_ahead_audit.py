"""Write-ahead audit: a `sent` record is on disk before a command leaves, an outcome refers to it, and the reader
pairs them (a `sent` with no outcome is "outcome unknown")."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.audit import OUTCOME, SENT, AuditEntry, AuditLog, read_audit, read_audited_commands
from edgeops.fleet.commands import CommandRunner, collect
from edgeops.inventory.model import Device
from edgeops.platforms import Platform


def fake_devices(count: int) -> list[Device]:
    return [
        Device(
            name=f"lab-leaf{n}",
            site="lab",
            role="leaf",
            platform=Platform.SRLINUX,
            model="7220 IXR-D2L",
            host="127.0.0.1",
        )
        for n in range(1, count + 1)
    ]


class CheckingTransport:
    """Checks, as a device would receive the command, that the audit file already holds its `sent` record."""

    def __init__(self, audit_path: Path, *, hang: bool = False, expected: int = 0) -> None:
        self.audit_path = audit_path
        self.hang = hang
        self.expected = expected
        self.seen_on_disk: dict[str, bool] = {}
        self.all_started = asyncio.Event()

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        on_disk = (
            [
                json.loads(line)
                for line in self.audit_path.read_bytes().splitlines()
                if self.audit_path.exists() and line.strip()
            ]
            if self.audit_path.exists()
            else []
        )
        self.seen_on_disk[device.name] = any(
            record.get("kind") == SENT and record["device"] == device.name and record["command"] == command
            for record in on_disk
        )
        if len(self.seen_on_disk) == self.expected:
            self.all_started.set()
        if self.hang:
            await asyncio.Event().wait()
        return CommandResult(device.name, command, f"{device.name} ok", started=0.0, ended=0.1, ok=True)

    async def aclose(self) -> None:
        pass


async def test_the_sent_record_is_on_disk_before_the_device_sees_the_command(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    transport = CheckingTransport(path)
    with AuditLog(path) as audit:
        results = await collect(CommandRunner(transport, audit=audit), "show version", fake_devices(5))
    assert all(result.ok for result in results)
    assert transport.seen_on_disk == {f"lab-leaf{n}": True for n in range(1, 6)}


async def test_each_outcome_refers_to_its_sent_record_and_one_run_shares_one_id(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        await collect(CommandRunner(CheckingTransport(path), audit=audit), "show version", fake_devices(3))
    records = list(read_audit(path))
    sent = [record for record in records if record.kind == SENT]
    outcomes = [record for record in records if record.kind == OUTCOME]
    assert len(sent) == len(outcomes) == 3
    assert {record.run_id for record in records} == {sent[0].run_id} and sent[0].run_id
    assert {record.command_id for record in sent} == {record.command_id for record in outcomes}
    assert len({record.command_id for record in sent}) == 3
    assert all(record.ok is None for record in sent) and all(record.ok for record in outcomes)
    commands = read_audited_commands(path)
    assert [command.status for command in commands] == ["ok"] * 3
    assert all(command.sent is not None and command.outcome is not None for command in commands)


async def test_a_cancelled_run_records_a_cancelled_outcome_for_every_command_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    transport = CheckingTransport(path, hang=True, expected=4)
    with AuditLog(path) as audit:
        runner = CommandRunner(transport, audit=audit)
        task = asyncio.create_task(collect(runner, "show version", fake_devices(4)))
        await transport.all_started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [command.status for command in read_audited_commands(path)] == [Failure.CANCELLED.value] * 4


def test_a_sent_record_without_an_outcome_reads_as_outcome_unknown(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    [device] = fake_devices(1)
    with AuditLog(path) as audit:
        audit.record(AuditEntry.sent(device, "show version", sent_at=0.0, source="run", run_id="r", command_id="r.1"))
    [command] = read_audited_commands(path)
    assert command.outcome_unknown and command.status == "outcome unknown"
    assert command.entry.device == "lab-leaf1"


def test_an_old_style_record_without_a_kind_is_a_complete_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    old = {
        "time": "2025-06-01T08:30:00.125Z",
        "user": "ops",
        "jump_host": None,
        "device": "leaf1",
        "command": "show version",
        "ok": False,
        "failure": "timeout",
        "source": "run",
    }
    path.write_text(json.dumps(old) + "\n", encoding="utf-8")
    [command] = read_audited_commands(path)
    assert not command.outcome_unknown and command.status == "timeout"
    assert command.entry.kind == ""


def test_a_sent_record_is_redacted_like_every_other(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    [device] = fake_devices(1)
    with AuditLog(path) as audit:
        audit.record(
            AuditEntry.sent(
                device, "set / system aaa password Hunter2Secret", sent_at=0.0, source="run", run_id="r", command_id="1"
            )
        )
    assert "Hunter2Secret" not in path.read_text(encoding="utf-8")
