"""`edgeops run`'s printer on StringIO streams: what a terminal or a pipe would receive, byte for byte."""

from __future__ import annotations

import io
import json

import pytest

from edgeops.cli.run_output import RunPrinter
from edgeops.devices.samples import CommandResult
from edgeops.fleet.results import summarise
from edgeops.inventory.model import Device
from edgeops.platforms import Platform

LEAF = Device("alcala-leaf1", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D3L", "127.0.0.1")
GATEWAY = Device("alcala-gw1", "alcala", "gateway", Platform.SROS, "7750 SR-7", "127.0.0.2")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def results() -> list[CommandResult]:
    return [
        CommandResult("alcala-gw1", "show version", "", 10.0, 12.0, ok=False, reason="timeout after 2 s"),
        CommandResult("alcala-leaf1", "show version", "\x1b[31mSR Linux 25.3\x1b[0m\r\n", 10.0, 10.5, ok=True),
    ]


def test_stream_mode_writes_each_device_as_it_arrives_then_the_summary() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = RunPrinter([LEAF, GATEWAY], progress=False, out=out, err=err)
    for result in results():
        printer.result(result)
    printer.finish(results(), summarise(results(), elapsed_s=2.0, command="show version"))
    text = out.getvalue()
    first, second, output = text.splitlines()[:3]
    assert first.startswith("=== alcala-gw1 (alcala, SR OS): FAILED (") and first.endswith("): timeout after 2 s")
    assert (second, output) == ("=== alcala-leaf1 (alcala, SR Linux): ok, 0.50 s", "SR Linux 25.3")
    assert "\x1b" not in text  # device output is inert, and a pipe gets no bold
    assert "\n2 devices: 1 ok, 1 failed" in text
    assert "failed:\n  alcala-gw1: timeout after 2 s\n" in text
    assert err.getvalue() == ""


def test_json_mode_writes_one_line_per_device_and_the_summary_on_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = RunPrinter([LEAF, GATEWAY], mode="json", progress=False, out=out, err=err)
    for result in results():
        printer.result(result)
    printer.finish(results(), summarise(results(), elapsed_s=2.0))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["name"], line["platform"], line["ok"]) for line in lines] == [
        ("alcala-gw1", "sros", False),
        ("alcala-leaf1", "srlinux", True),
    ]
    assert lines[1]["output"] == "\x1b[31mSR Linux 25.3\x1b[0m\r\n"  # JSON keeps the device's text, escaped
    assert "\\u001b" in out.getvalue()
    assert err.getvalue().startswith("2 devices: 1 ok, 1 failed")


def test_headers_are_bold_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Terminal()
    RunPrinter([LEAF], progress=False, out=out, err=io.StringIO()).result(results()[1])
    assert out.getvalue().startswith("\x1b[1m=== alcala-leaf1 (alcala, SR Linux): ok, 0.50 s\x1b[0m\n")
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Terminal()
    RunPrinter([LEAF], progress=False, out=plain, err=io.StringIO()).result(results()[1])
    assert plain.getvalue().startswith("=== alcala-leaf1")


def test_a_reader_that_left_stops_the_output_not_the_run() -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    printer = RunPrinter([LEAF, GATEWAY], progress=False, out=Closed(), err=io.StringIO())
    for result in results():
        printer.result(result)  # no exception: the run goes on (and is audited)
    printer.finish(results(), summarise(results()))


def test_json_lines_carry_no_secret() -> None:
    from edgeops.cli.run_output import json_line

    secret = "Tr0ub4dor&3"
    command = f"set / system aaa authentication user ops password {secret}"
    result = CommandResult("alcala-leaf1", command, f"echo {command}\n", started=1.0, ended=2.0, ok=True)
    line = json_line(result, None)
    assert secret not in line and json.loads(line)["command"].endswith("password ***")
