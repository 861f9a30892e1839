"""The audit log: line format, no secrets, rotation, torn-line recovery, and survival of SIGKILL at any point."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.audit import AuditEntry, AuditLog, AuditWriter, read_audit
from edgeops.inventory.model import Credentials, Device, Inventory, JumpHost, SecretRef, Site
from edgeops.platforms import Platform

PASSWORD = "Sup3r-S3cret!pw"
FIELDS = [
    "time",
    "kind",
    "run_id",
    "command_id",
    "user",
    "jump_host",
    "device",
    "site",
    "platform",
    "command",
    "ok",
    "reason",
    "failure",
    "duration_s",
    "output_bytes",
    "source",
    "guard_lifted",
]

LEAF = Device(
    name="alcala-leaf1",
    site="alcala",
    role="leaf",
    platform=Platform.SRLINUX,
    model="7220 IXR-D2L",
    host="127.10.1.3",
    jump="alcala-jump",
    credentials=Credentials(username="admin", password=SecretRef("literal", PASSWORD)),
)
INVENTORY = Inventory(
    sites=(Site("Tecno-Alcalá", "alcala"),),
    devices=(LEAF,),
    jump_hosts=(
        JumpHost(
            "alcala-jump",
            "127.10.1.250",
            credentials=Credentials(username="ops", password=SecretRef("literal", PASSWORD)),
        ),
    ),
)


def result(command: str = "show version", *, ok: bool = True, output: str = "Hostname : leaf1\n") -> CommandResult:
    return CommandResult(
        device=LEAF.name,
        command=command,
        output=output,
        started=1_750_000_000.25,
        ended=1_750_000_000.75,
        ok=ok,
        reason="" if ok else "timeout after 30 s",
        failure=None if ok else Failure.TIMEOUT,
    )


def entry(number: int = 0, **changes) -> AuditEntry:
    base = AuditEntry.for_result(result(f"show version {number}"), LEAF, source="run", user="tester")
    return AuditEntry(**{**base.__dict__, **changes})


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_one_json_line_per_record_with_every_field(tmp_path):
    path = tmp_path / "state" / "audit.jsonl"
    with AuditLog(path) as log:
        log.record(AuditEntry.for_result(result(), LEAF, source="console", guard_lifted=True, user="maria"))
        log.record(AuditEntry.for_result(result(ok=False), LEAF, source="run"))
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 2
    first, second = (json.loads(line) for line in lines_of(path))
    assert list(first) == FIELDS
    assert first == {
        "time": "2025-06-15T15:06:40.250Z",
        "kind": "outcome",
        "run_id": "",
        "command_id": "",
        "user": "maria",
        "jump_host": "alcala-jump",
        "device": "alcala-leaf1",
        "site": "alcala",
        "platform": "srlinux",
        "command": "show version",
        "ok": True,
        "reason": "",
        "failure": "",
        "duration_s": 0.5,
        "output_bytes": 17,
        "source": "console",
        "guard_lifted": True,
    }
    assert second["ok"] is False and second["failure"] == "timeout" and second["reason"] == "timeout after 30 s"
    assert second["user"]  # the local user, whoever runs the tests
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", second["time"])


def test_the_file_is_private_to_its_owner(tmp_path):
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.record(entry())
    assert path.stat().st_mode & 0o777 == 0o600


def test_output_size_counts_bytes_and_multiline_values_stay_on_one_line(tmp_path):
    path = tmp_path / "audit.jsonl"
    text = "Descripción: enlace a Alcalá\nline two\n"
    with AuditLog(path) as log:
        log.record(AuditEntry.for_result(result("show interface\nx", output=text), LEAF, source="run"))
    (line,) = lines_of(path)
    assert json.loads(line)["output_bytes"] == len(text.encode("utf-8"))
    assert json.loads(line)["command"] == "show interface\nx"


def test_a_password_in_the_inventory_never_appears(tmp_path):
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        for device in INVENTORY.devices:
            log.record(AuditEntry.for_result(result(), device, source="run"))
            # Even when someone types it into a command, with the guard lifted.
            typed = f"set / system aaa authentication user admin password {PASSWORD}"
            log.record(AuditEntry.for_result(result(typed), device, source="console", guard_lifted=True))
            log.record(
                AuditEntry.for_result(
                    result(f'configure system security snmp community "{PASSWORD}" access-permissions r'),
                    device,
                    source="run",
                )
            )
    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text
    assert "password ***" in text
    assert "community ***" in text
    assert PASSWORD not in repr(list(read_audit(path)))


def test_rotation_keeps_the_newest_records_in_order(tmp_path):
    path = tmp_path / "audit.jsonl"
    line_size = len(entry(100).to_json()) + 1
    with AuditLog(path, max_bytes=line_size * 10, backups=3) as log:
        for number in range(100, 200):
            log.record(entry(number))
    files = sorted(tmp_path.glob("audit.jsonl*"))
    assert [file.name for file in files if not file.name.endswith(".lock")] == [
        "audit.jsonl",
        "audit.jsonl.1",
        "audit.jsonl.2",
        "audit.jsonl.3",
    ]
    for file in files:
        assert file.stat().st_size <= line_size * 10
    kept = [int(item.command.split()[-1]) for item in read_audit(path, include_rotated=True)]
    assert kept == list(range(200 - len(kept), 200))  # contiguous, newest last
    assert 30 < len(kept) <= 40
    assert [int(item.command.split()[-1]) for item in read_audit(path)] == kept[-len(lines_of(path)) :]


def count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every fsync of a file descriptor, counted (and still done)."""
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_record_many_writes_one_line_per_entry_with_one_fsync(tmp_path, monkeypatch):
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.record(entry(0))  # opens (and creates) the file first: the directory fsync is not counted below
        fsyncs = count_fsyncs(monkeypatch)
        log.record_many([entry(number) for number in range(1, 51)])
        log.record_many([])
    assert len(fsyncs) == 1
    assert [json.loads(line)["command"] for line in lines_of(path)] == [f"show version {n}" for n in range(51)]


def test_a_batch_is_split_where_the_log_rotates_and_no_file_outgrows_the_limit(tmp_path):
    path = tmp_path / "audit.jsonl"
    line_size = len(entry(100).to_json()) + 1
    with AuditLog(path, max_bytes=line_size * 10, backups=3) as log:
        log.record_many([entry(number) for number in range(100, 104)])
        log.record_many([entry(number) for number in range(104, 129)])  # 4 + 25: fills .2 and .1, then 9 in log
    for file in tmp_path.glob("audit.jsonl*"):
        assert file.stat().st_size <= line_size * 10
    kept = [int(item.command.split()[-1]) for item in read_audit(path, include_rotated=True)]
    assert kept == list(range(100, 129))
    assert len(lines_of(path)) == 9 and len(lines_of(tmp_path / "audit.jsonl.1")) == 10


def test_a_line_bigger_than_the_limit_still_gets_a_file_of_its_own(tmp_path):
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, max_bytes=64, backups=5) as log:
        log.record_many([entry(1), entry(2), entry(3)])
    files = sorted(file for file in tmp_path.glob("audit.jsonl*") if not file.name.endswith(".lock"))
    assert [len(lines_of(file)) for file in files] == [1, 1, 1]
    assert [item.command for item in read_audit(path, include_rotated=True)] == [f"show version {n}" for n in (1, 2, 3)]


async def test_records_submitted_together_share_one_write_and_one_fsync(tmp_path, monkeypatch):
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.record(entry(0))
        fsyncs = count_fsyncs(monkeypatch)
        writer = AuditWriter(log)
        # Submitted in one turn of the loop, before the writer's task first runs: one batch.
        await asyncio.gather(*(writer.write(entry(number)) for number in range(1, 201)))
        assert writer.batches == 1 and len(fsyncs) == 1
        await writer.write(entry(201))  # alone: a batch of its own, written before write() returns
        assert writer.batches == 2 and json.loads(lines_of(path)[-1])["command"] == "show version 201"
        await writer.aclose()
    assert [item.command for item in read_audit(path)] == [f"show version {n}" for n in range(202)]


async def test_records_arriving_during_a_write_go_in_the_next_one_in_order(tmp_path):
    path = tmp_path / "audit.jsonl"
    order: list[int] = []

    async def device(number: int, writer: AuditWriter) -> None:
        await asyncio.sleep(random.random() / 50)
        order.append(number)
        await writer.write(entry(number))

    with AuditLog(path) as log:
        writer = AuditWriter(log)
        await asyncio.gather(*(device(number, writer) for number in range(300)))
        await writer.aclose()
    assert [int(item.command.split()[-1]) for item in read_audit(path)] == order
    assert 1 <= writer.batches <= 300


async def test_a_write_error_reaches_every_record_of_its_batch(tmp_path, monkeypatch):
    with AuditLog(tmp_path / "audit.jsonl") as log:
        writer = AuditWriter(log)

        def disk_full(entries: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(log, "record_many", disk_full)
        outcomes = await asyncio.gather(*(writer.write(entry(n)) for n in range(3)), return_exceptions=True)
        assert [type(outcome) for outcome in outcomes] == [OSError] * 3
        monkeypatch.undo()
        await writer.write(entry(3))  # the writer carries on once the disk has room again
        await writer.aclose()
    assert [item.command for item in read_audit(tmp_path / "audit.jsonl")] == ["show version 3"]


async def test_records_submitted_without_waiting_are_written_by_aclose(tmp_path):
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        writer = AuditWriter(log)
        for number in range(5):
            writer.submit(entry(number))  # as a cancelled device task does on its way out
        await writer.aclose()
    assert len(lines_of(path)) == 5


def test_reader_finds_backups_across_a_gap_left_by_a_crash_mid_rotation(tmp_path):
    path = tmp_path / "audit.jsonl"
    for suffix, number in ((".3", 1), (".2", 2), ("", 3)):  # .1 is missing: the crash came before log -> log.1
        path.with_name(path.name + suffix).write_text(entry(number).to_json() + "\n", encoding="utf-8")
    (tmp_path / "audit.jsonl.lock").write_text("", encoding="utf-8")
    commands = [item.command for item in read_audit(path, include_rotated=True)]
    assert commands == ["show version 1", "show version 2", "show version 3"]


def test_a_writer_follows_a_rotation_done_by_another(tmp_path):
    path = tmp_path / "audit.jsonl"
    size = len(entry().to_json()) + 1
    first, second = AuditLog(path, max_bytes=size * 2, backups=5), AuditLog(path, max_bytes=size * 2, backups=5)
    with first, second:
        second.record(entry(1))
        first.record(entry(2))
        first.record(entry(3))  # rotates: the file second opened is now audit.jsonl.1
        second.record(entry(4))
    assert [json.loads(line)["command"] for line in lines_of(path)] == ["show version 3", "show version 4"]
    assert len(lines_of(tmp_path / "audit.jsonl.1")) == 2


def test_a_torn_last_line_is_skipped_and_the_next_record_starts_a_fresh_line(tmp_path):
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.record(entry(1))
    with open(path, "ab") as handle:  # what power loss can leave behind
        handle.write(b'{"time":"2025-06-15T15:06:40.250Z","user":"te')
    assert [item.command for item in read_audit(path)] == ["show version 1"]
    with AuditLog(path) as log:
        log.record(entry(2))
    raw_lines = path.read_bytes().split(b"\n")
    assert raw_lines[1].startswith(b'{"time"') and raw_lines[1].endswith(b'"te')
    assert json.loads(raw_lines[2])["command"] == "show version 2"
    assert [item.command for item in read_audit(path)] == ["show version 1", "show version 2"]


def test_reader_ignores_unknown_fields_and_skips_lines_that_are_not_records(tmp_path):
    path = tmp_path / "audit.jsonl"
    record = json.loads(entry(1).to_json())
    path.write_text(
        "\n".join([json.dumps({**record, "added_later": 1}), "[1, 2]", '{"time": "x"}', "not json", ""]),
        encoding="utf-8",
    )
    assert [item.command for item in read_audit(path)] == ["show version 1"]
    assert list(read_audit(tmp_path / "missing.jsonl")) == []


def test_source_must_be_console_or_run():
    with pytest.raises(ValueError, match="console, run"):
        AuditEntry.for_result(result(), LEAF, source="cron")


def test_rotation_needs_a_backup():
    with pytest.raises(ValueError):
        AuditLog("audit.jsonl", max_bytes=100, backups=0)


async def test_concurrent_tasks_on_one_loop_write_whole_lines_in_call_order(tmp_path):
    path = tmp_path / "audit.jsonl"
    order: list[int] = []

    async def device_task(number: int, log: AuditLog) -> None:
        await asyncio.sleep(random.random() / 100)
        order.append(number)
        log.record(entry(number))

    with AuditLog(path, max_bytes=4096, backups=50) as log:
        await asyncio.gather(*(device_task(number, log) for number in range(200)))
    written = [int(item.command.split()[-1]) for item in read_audit(path, include_rotated=True)]
    assert written == order


WRITER = """
import sys
from edgeops.fleet.audit import AuditEntry, AuditLog

path, tag, count, max_bytes, backups = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
batch = int(sys.argv[6]) if len(sys.argv) > 6 else 1

def record(number):
    return AuditEntry(time="2025-06-15T15:06:40.250Z", user="writer", device=f"{tag}-{number}",
                      command="show port | match Up " + "x" * (number % 50), ok=True, source="run")

with AuditLog(path, max_bytes=max_bytes, backups=backups) as log:
    number = 0
    while count < 0 or number < count:
        if batch == 1:
            log.record(record(number))
        else:
            log.record_many([record(number + offset) for offset in range(batch)])
        number += batch
"""


def start_writer(
    path: Path, tag: str, *, count: int, max_bytes: int, backups: int, batch: int = 1
) -> subprocess.Popen[bytes]:
    arguments = [str(path), tag, str(count), str(max_bytes), str(backups), str(batch)]
    return subprocess.Popen([sys.executable, "-c", WRITER, *arguments], stderr=subprocess.PIPE)


def all_log_lines(directory: Path) -> list[bytes]:
    lines = []
    for file in sorted(directory.glob("audit.jsonl*")):
        if file.name.endswith(".lock"):
            continue
        data = file.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"{file.name} ends in a partial line"
        lines += data.splitlines()
    return lines


@pytest.mark.parametrize("batch", [1, 8], ids=["one-by-one", "group-commit"])
def test_killing_the_writer_at_random_points_leaves_only_whole_lines(tmp_path, batch):
    path = tmp_path / "audit.jsonl"
    rng = random.Random()
    for _ in range(5):
        writer = start_writer(path, "kill", count=-1, max_bytes=16_384, backups=3, batch=batch)
        try:
            # Start the clock once it writes, so every kill lands mid-stream, then kill it without warning.
            deadline = time.monotonic() + 20
            while not path.exists() and writer.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.02, 0.2))
            assert writer.poll() is None, writer.stderr.read().decode() if writer.stderr else ""
            writer.send_signal(signal.SIGKILL)
        finally:
            writer.kill()
            writer.wait()
            if writer.stderr:
                writer.stderr.close()
    lines = all_log_lines(tmp_path)
    assert len(lines) > 5
    for line in lines:
        assert json.loads(line)["user"] == "writer"
    assert len(list(read_audit(path, include_rotated=True))) == len(lines)


def test_two_processes_rotating_one_log_lose_nothing(tmp_path):
    path = tmp_path / "audit.jsonl"
    writers = [start_writer(path, tag, count=300, max_bytes=8192, backups=100) for tag in ("a", "b")]
    for writer in writers:
        _, stderr = writer.communicate(timeout=60)
        assert writer.returncode == 0, stderr.decode()
    devices = [json.loads(line)["device"] for line in all_log_lines(tmp_path)]
    assert sorted(devices) == sorted(f"{tag}-{number}" for tag in ("a", "b") for number in range(300))
    # Without a lock around every write, the limit is soft by a line or so per concurrent writer.
    assert all(file.stat().st_size <= 8192 + 2 * 300 for file in tmp_path.glob("audit.jsonl*"))
    assert os.path.exists(tmp_path / "audit.jsonl.2")  # rotation happened, several times


def test_device_text_with_c1_controls_and_bidi_overrides_is_written_escaped(tmp_path):
    path = tmp_path / "audit.jsonl"
    hostile = "Error: \x9b31mred\x9b0m \u202eevil\u202c \x85next"
    with AuditLog(path) as log:
        log.record(entry(reason=hostile, ok=False, failure=Failure.DEVICE_ERROR))
    raw = path.read_bytes().decode("utf-8")
    assert not any(char in raw for char in "\x9b\u202e\u202c\x85")
    assert [record.reason for record in read_audit(path)] == [hostile]


def test_the_audit_user_is_the_account_not_what_the_environment_claims(monkeypatch):
    import os
    import pwd

    from edgeops.fleet.audit import local_user

    monkeypatch.setenv("USER", "somebody-else")
    monkeypatch.setenv("LOGNAME", "somebody-else")
    assert local_user() == pwd.getpwuid(os.getuid()).pw_name != "somebody-else"
