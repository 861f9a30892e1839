"""Names from an inventory reach the terminal inert: `inventory check/show` and `run`'s headers and summaries show
their escape sequences, OSC 52 clipboard writes, bidirectional overrides and C1 controls escaped, never raw."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from edgeops.cli import main
from edgeops.cli.run_output import RunPrinter
from edgeops.devices.samples import CommandResult
from edgeops.fleet.results import summarise
from edgeops.inventory.model import Device
from edgeops.platforms import Platform
from edgeops.textsafety import escape_control

# Written as YAML double-quoted escapes: \e is ESC, \a is BEL, \x9b the 8-bit CSI, \u202e RIGHT-TO-LEFT OVERRIDE.
HOSTILE_INVENTORY = r"""
sites:
  - {code: "alc\e[2Jala", name: "Tecno\e]52;c;cHduZWQ=\a-Alcalá\u202eB-2", description: "\x9b31mroom"}
jump_hosts:
  - {name: "bastion\x9b2J", host: 127.0.0.10}
devices:
  - {name: "leaf\e[2J1", site: "alc\e[2Jala", role: "le\u202eaf", platform: srlinux, host: 127.0.0.1,
     jump: "bastion\x9b2J"}
"""
# What no byte written to the terminal may hold: ESC, BEL, the C1 CSI, the bidi override.
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/config of the user's
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE_INVENTORY, encoding="utf-8")
    return path


def assert_inert(text: str) -> None:
    assert not [raw for raw in RAW if raw in text], repr(text)


def test_escape_control_shows_what_strip_would_hide() -> None:
    assert escape_control("leaf\x1b[2J1") == "leaf\\x1b[2J1"
    assert escape_control("a\x1b]52;c;AAAA\x07b") == "a\\x1b]52;c;AAAA\\x07b"
    assert escape_control("admin\u202eupdated\x9b\nx\t") == "admin\\u202eupdated\\x9b\\x0ax\\x09"
    plain = "Tecno-Alcalá [room=B-2]"
    assert escape_control(plain) is plain


def test_inventory_check_prints_hostile_names_escaped(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "check", str(hostile)]) == 0
    out, err = capsys.readouterr()
    assert_inert(out + err)
    assert "alc\\x1b[2Jala" in out and "Tecno\\x1b]52;c;cHduZWQ=\\x07-Alcalá\\u202eB-2" in out
    assert "bastion\\x9b2J" in out and "le\\u202eaf 1" in out


def test_inventory_show_prints_hostile_names_escaped(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "show", str(hostile)]) == 0
    out, err = capsys.readouterr()
    assert_inert(out + err)
    header, row = out.splitlines()
    assert row.startswith("leaf\\x1b[2J1  alc\\x1b[2Jala  le\\u202eaf")
    assert header.index("SITE") == row.index("alc")  # the escaped name keeps its column


def test_inventory_problems_quote_hostile_values_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text('sites: [alcala]\ndevices:\n  - {name: "leaf\\e[2J 1", site: "x\\x9b2J"}\n', encoding="utf-8")
    assert main(["inventory", "check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert_inert(out + err)
    assert "leaf\\x1b[2J 1" in err


def test_run_headers_and_summary_show_hostile_names_escaped() -> None:
    name, site = "leaf\x1b[2J1", "alc\x1b]52;c;cHduZWQ=\x07ala\u202e"
    device = Device(name, site, "leaf", Platform.SRLINUX, "7220 IXR-D3L", "127.0.0.1")
    other = Device("gw\x9b2J", site, "gateway", Platform.SROS, "7750 SR-7", "127.0.0.2")
    results = [
        CommandResult(name, "show version", "ok\n", 10.0, 10.5, ok=True),
        CommandResult(other.name, "show version", "", 10.0, 12.0, ok=False, reason="closed by gw\x9b2J\x1b[2J"),
    ]
    for mode in ("stream", "group", "json"):
        out, err = io.StringIO(), io.StringIO()
        printer = RunPrinter([device, other], mode=mode, progress=False, out=out, err=err)
        for result in results:
            printer.result(result)
        printer.finish(results, summarise(results, elapsed_s=2.0, command="show version"))
        assert_inert(out.getvalue() + err.getvalue())
        if mode == "stream":
            assert out.getvalue().startswith("=== leaf\\x1b[2J1 (alc\\x1b]52;c;cHduZWQ=\\x07ala\\u202e, SR Linux)")
            assert "  gw\\x9b2J: closed by gw" in out.getvalue()
