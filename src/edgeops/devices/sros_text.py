"""SR OS show output read into rows: ntc-templates' TextFSM templates where one exists, our own parsers otherwise.

ntc-templates' `alcatel_sros` templates were written from real device captures, so wherever one exists for a
command it is the parser: this module finds it in the package's index, compiles it once and feeds it the output
with what is not part of the command's output (prompts, MD-CLI context lines, pager prompts) taken out, since
those templates reject any line they do not expect. For commands without a template, a parser of ours gives rows
in the same shape: one dict per record, lower-case keys, the values as the device printed them.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import textfsm

# textfsm and ntc-templates (0.6 MB once imported) are imported where SR OS text is first parsed, not with the
# engine: a fleet on gNMI may never need them.

Row = dict[str, Any]  # values are text, or lists of text where a template collects several (IP addresses)

TEMPLATE_PLATFORM = "alcatel_sros"
WIDTH = 79  # SR OS tables are 79 columns wide


class NoParser(LookupError):
    """No template and no parser of ours reads this command's output."""


class TextParseError(ValueError):
    """The output does not have the layout the command's parser reads (the device printed something else)."""


@dataclass(frozen=True)
class SrosParser:
    """How one command's output is read: `source` says whose parser it is (a template file, or edgeops)."""

    source: str
    parse: Callable[[str], list[Row]]


# -- the text around the output ---------------------------------------------------------------------------------

# Lines a captured session adds around a command's output: the MD-CLI context line (`[/]`, `*(ex)[/configure]`),
# prompts with or without the command typed after them (`A:admin@pe1# show port`, `*A:pe1>config>port# `),
# and the pager's prompts.
_NOT_OUTPUT = re.compile(
    r"^(?:[*!]{0,2}(?:\((?:ex|pr|gl|ro)\))?\[[^\]]*\]"
    r"|\*?[A-D]:\S+#.*"
    r"|Press Q to quit, Enter to print next line or any other key to print next page\."
    r"|Press any key to continue \(Q to quit\))\s*$"
)


def command_output(text: str) -> str:
    """The output alone: prompts, context lines and pager prompts removed, line endings normalised."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line for line in lines if not _NOT_OUTPUT.match(line))


def normalise_command(command: str) -> str:
    """`  /show   port | no-more` -> `show port`; other output modifiers change the layout, so they stay."""
    words = command.split()
    if words[-2:] == ["|", "no-more"]:
        words = words[:-2]
    text = " ".join(words)
    return text[1:] if text.startswith("/") and not text.startswith("//") else text


# -- ntc-templates ----------------------------------------------------------------------------------------------


def template_dir() -> Path:
    """The templates ntc-templates itself would use (NTC_TEMPLATES_DIR overrides the packaged ones, as there)."""
    import ntc_templates

    configured = os.environ.get("NTC_TEMPLATES_DIR")
    return Path(configured) if configured else Path(ntc_templates.__file__).parent / "templates"


@functools.cache
def _template_index(directory: Path) -> tuple[tuple[re.Pattern[str], str], ...]:
    """(command pattern, template file) for every SR OS row of the index, in the index's order.

    textfsm's own lookup matches the start of the command only, so `show port` would also claim `show port 1/1/c1/1`
    (a detail layout it cannot read); here a pattern must match the whole command.
    """
    from textfsm import clitable

    table = clitable.CliTable("index", str(directory))
    entries = []
    for row in table.index.index:
        if re.fullmatch(row["Platform"], TEMPLATE_PLATFORM):
            entries.append((re.compile(row["Command"]), row["Template"]))
    return tuple(entries)


@functools.cache
def _compiled(path: Path) -> textfsm.TextFSM:
    import textfsm

    with path.open(encoding="utf-8") as handle:
        return textfsm.TextFSM(handle)


def template_for(command: str) -> str | None:
    """The template file for a command (already normalised), or None."""
    for pattern, template in _template_index(template_dir()):
        if pattern.fullmatch(command):
            return template
    return None


def parse_with_template(template: str, output: str) -> list[Row]:
    """Rows from a template, keys lower-cased as ntc-templates gives them."""
    import textfsm

    text = command_output(output)
    # Some templates turn any lone word into a row (show port takes it for a long port id); every show table has
    # its `=====` rules, so output without one is not the command's table (an error, a banner, a wrong file).
    if template.startswith(f"{TEMPLATE_PLATFORM}_show") and not re.search(r"^={20,}\s*$", text, re.M):
        raise TextParseError(f"{template}: no SR OS table in the output")
    restore = _RESTORE_PADDING.get(template)
    if restore is not None:
        text = restore(text)
    fsm = _compiled(template_dir() / template)
    fsm.Reset()  # the compiled template is shared: start each parse from its first state with no values held
    try:
        records = fsm.ParseTextToDicts(text)
    except textfsm.TextFSMError as error:
        raise TextParseError(f"{template}: {error}") from error
    return [{key.lower(): value for key, value in record.items()} for record in records]


def _pad_cpu_summary(text: str) -> str:
    """Put back the padding of the CPU table's summary lines (`Total`, `Idle`, ...).

    The device pads them to the full width and the template's rules for them expect that padding; an SSH client
    that strips trailing blanks from every line (scrapli does) would otherwise make the template reject them.
    """
    lines = text.split("\n")
    rules = [index for index, line in enumerate(lines) if line.startswith("-----")]
    if len(rules) >= 2:
        for index in range(rules[1] + 1, len(lines)):
            line = lines[index]
            if line.strip() and not line.startswith("====="):
                lines[index] = line + " " * max(1, WIDTH - len(line))
    return "\n".join(lines)


_RESTORE_PADDING: dict[str, Callable[[str], str]] = {"alcatel_sros_show_system_cpu.textfsm": _pad_cpu_summary}


# -- our parsers, for commands ntc-templates has no template for -------------------------------------------------

_LABEL_VALUE = re.compile(
    r"(?P<label>[A-Za-z][\w ./%()&'#-]*?)\s*:(?:\s(?P<value>.*?))?(?=\s{2,}[A-Za-z][\w ./%()&'#-]*?\s*:(?:\s|$)|\s*$)"
)
_STAT_ROW = re.compile(r"^(?P<label>[A-Za-z][A-Za-z ()0-9-]*?)\s{2,}(?P<rx>[\d,]+)(?:\s+(?P<tx>[\d,]+))?\s*$")


def label_values(line: str) -> dict[str, str]:
    """`Admin State        : up                Oper Duplex      : full` -> {"Admin State": "up", ...}.

    SR OS detail layouts put two pairs on a line; values may hold colons (MAC addresses, times).
    """
    return {m.group("label").strip(): (m.group("value") or "").strip() for m in _LABEL_VALUE.finditer(line)}


def key_of(label: str) -> str:
    """`System Up Time (64-bit)` -> `system_up_time_64_bit`: a label as a row key."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def sections(text: str) -> Iterator[tuple[str, list[str]]]:
    """(title, body lines) for every `=====` / title / `=====` block of an SR OS report."""
    lines = text.splitlines()
    title = ""
    body: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if (
            line.startswith("=====")
            and index + 2 < len(lines)
            and lines[index + 2].startswith("=====")
            and lines[index + 1].strip()
        ):
            if title or body:
                yield title, body
            title, body = lines[index + 1].strip(), []
            index += 3
            continue
        if not line.startswith("====="):
            body.append(line)
        index += 1
    if title or body:
        yield title, body


def _table_rows(body: list[str]) -> list[str]:
    """The lines of a table between its header rule and its end (the next rule or the end of the section)."""
    rows: list[str] = []
    started = False
    for line in body:
        if line.startswith("-----"):
            if started:
                break
            started = True
            continue
        if started and line.strip():
            rows.append(line)
    return rows


PORT_DETAIL_KEYS = (
    "port_id",
    "description",
    "admin_state",
    "oper_state",
    "oper_speed",
    "physical_link",
    "mtu",
    "last_state_change",
    "in_octets",
    "out_octets",
    "in_packets",
    "out_packets",
    "in_errors",
    "out_errors",
    "in_discards",
    "out_discards",
)


def parse_port_detail(text: str) -> list[Row]:
    """`show port <id>` / `show port detail`: one row per Ethernet Interface section, with its traffic counters."""
    ports: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for title, body in sections(command_output(text)):
        if title == "Ethernet Interface":
            current = {}
            ports.append(current)
            previous = ""
            for line in body:
                if previous == "Description" and line.startswith(" " * 21) and ":" not in line:
                    current["Description"] += " " + line.strip()  # a long description wraps under its value
                    continue
                pairs = label_values(line)
                for label, value in pairs.items():
                    current.setdefault(label, value)
                previous = next(iter(pairs), "") if pairs else previous
        elif current is not None and title in ("Traffic Statistics", "Port Statistics"):
            for line in body:
                match = _STAT_ROW.match(line)
                if match:
                    label = key_of(match.group("label"))
                    current.setdefault(f"in_{label}", match.group("rx") or "")
                    current.setdefault(f"out_{label}", match.group("tx") or "")
    rows = []
    for port in ports:
        if not port.get("Interface"):
            continue
        row = {
            "port_id": port["Interface"],
            "description": port.get("Description", ""),
            "admin_state": port.get("Admin State", ""),
            "oper_state": port.get("Oper State", ""),
            "oper_speed": port.get("Oper Speed", ""),
            "physical_link": port.get("Physical Link", ""),
            "mtu": port.get("MTU", ""),
            "last_state_change": port.get("Last State Change", ""),
        }
        for key in PORT_DETAIL_KEYS[8:]:
            row[key] = port.get(key, "")
        rows.append(row)
    if not rows:
        raise TextParseError("no Ethernet Interface section with an Interface line")
    return rows


def parse_label_report(text: str) -> list[Row]:
    """`Label : value` reports (`show system information`): one row, a key per label, the first value wins."""
    row: Row = {}
    for _, body in sections(command_output(text)):
        for line in body:
            for label, value in label_values(line).items():
                row.setdefault(key_of(label), value)
    if not row:
        raise TextParseError("no `Label : value` lines")
    return [row]


_VERSION = re.compile(
    r"^TiMOS-(?P<version>\S+)\s+(?P<architecture>\S+)\s+(?P<platform>.+?)\s+Copyright \(c\) (?P<copyright>[\d-]+)"
)
_BUILT = re.compile(r"^Built on (?P<built_on>.+?) by (?P<built_by>\S+) in (?P<build_directory>\S+)")


def parse_version(text: str) -> list[Row]:
    """`show version`: `TiMOS-C-25.10.R2 cpm/x86_64 Nokia 7750 SR Copyright (c) 2000-2025 Nokia.` and its build."""
    row: Row = {}
    for line in command_output(text).splitlines():
        for pattern in (_VERSION, _BUILT):
            match = pattern.match(line.strip())
            if match:
                row.update(match.groupdict())
    if "version" not in row:
        raise TextParseError("no TiMOS version line")
    return [{"built_on": "", "built_by": "", "build_directory": ""} | row]


_MEMORY_POOL = re.compile(
    r"^(?P<name>\S.*?)\s{2,}(?P<max_allowed>No limit|[\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s*$"
)
_MEMORY_TOTAL = re.compile(r"^\s*(Current Total Size|Total In Use|Available Memory)\s*:\s*([\d,]+)\s*bytes")


def parse_memory_pools(text: str) -> list[Row]:
    """`show system memory-pools`: a row per pool, each also carrying the three totals under the table."""
    pools: list[Row] = []
    totals = {"current_total_size": "", "total_in_use": "", "available_memory": ""}
    for line in command_output(text).splitlines():
        total = _MEMORY_TOTAL.match(line)
        if total:
            totals[key_of(total.group(1))] = total.group(2)
            continue
        pool = _MEMORY_POOL.match(line)
        if pool:
            pools.append(
                {
                    "name": pool.group("name"),
                    "max_allowed": pool.group("max_allowed"),
                    "current_size": pool.group(3),
                    "max_so_far": pool.group(4),
                    "in_use": pool.group(5),
                }
            )
    if not all(totals.values()):
        raise TextParseError("no Current Total Size / Total In Use / Available Memory lines")
    return [pool | totals for pool in pools] or [{"name": "", **totals}]


def parse_chassis(text: str) -> list[Row]:
    """`show chassis`: a row for the chassis, then one per fan tray and per power supply."""
    rows: list[Row] = []
    chassis: Row = {"component": "chassis", "number": "1", "type": "", "status": "", "temperature": "", "detail": ""}
    current: Row | None = None
    for line in command_output(text).splitlines():
        pairs = label_values(line)
        if not pairs:
            continue
        label, value = next(iter(pairs.items()))
        if label == "Type" and not chassis["type"]:
            chassis["type"] = value
        elif label == "Operational state" and not chassis["status"]:
            chassis["status"] = value
        elif label == "Temperature" and not chassis["temperature"]:
            chassis["temperature"] = value
        elif label in ("Fan tray number", "Power supply number"):
            kind = "fan-tray" if label.startswith("Fan") else "power-supply"
            current = {"component": kind, "number": value, "type": "", "status": "", "temperature": "", "detail": ""}
            rows.append(current)
        elif current is not None and label == "Status":
            current["status"] = value
        elif current is not None and label in ("Speed", "AC power", "DC power"):
            current["detail"] = value
        elif current is not None and label in ("Defaulted power supply type", "Power supply type"):
            current["type"] = value
    if not chassis["type"] and not rows:
        raise TextParseError("no chassis type, fan tray or power supply")
    return [chassis, *rows]


_ALARM_ROW = re.compile(
    r"^(?P<index>\d+)\s+(?P<date_time>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)\s+"
    r"(?P<severity>[A-Za-z]+)\s+(?P<alarm>\S+)\s+(?P<resource>.*?)\s*$"
)


def parse_alarms(text: str) -> list[Row]:
    """`show system alarms`: a row per alarm; the indented line under it is its details."""
    rows: list[Row] = []
    output = command_output(text)
    if "Alarms [" not in output and "No Matching Entries" not in output:
        raise TextParseError("no alarm table")
    current: Row | None = None
    for line in output.splitlines():
        match = _ALARM_ROW.match(line)
        if match:
            current = match.groupdict() | {"details": ""}
            rows.append(current)
        elif current is not None and line.startswith(" ") and line.strip():
            current["details"] = (current["details"] + " " + line.strip()).strip()
        else:
            current = None
    return rows


_CARD_ROW = re.compile(
    r"^(?P<slot>\w+)\s+(?P<type>\S+)\s+(?P<admin>up|down)\s+(?P<oper>\S+)(?:\s+(?P<comments>.*?))?\s*$"
)
_MDA_ROW = re.compile(
    r"^(?P<slot>\w+)?\s+(?P<mda>\d+)\s+(?P<type>\S+)\s+(?P<admin>up|down)\s+(?P<oper>\S+)(?:\s+(?P<rest>.*?))?\s*$"
)
_EQUIPPED = re.compile(r"^\s{8,}(?P<equipped>\S+)\s*$")  # the equipped type under a provisioned one that differs


def parse_cards(text: str) -> list[Row]:
    """`show card`: a row per slot."""
    rows: list[Row] = []
    for _, body in sections(command_output(text)):
        for line in _table_rows(body):
            match = _CARD_ROW.match(line)
            if match:
                rows.append(
                    {
                        "slot": match.group("slot"),
                        "provisioned_type": match.group("type"),
                        "equipped_type": "",
                        "admin_state": match.group("admin"),
                        "operational_state": match.group("oper"),
                        "comments": match.group("comments") or "",
                    }
                )
            elif rows and (equipped := _EQUIPPED.match(line)):
                rows[-1]["equipped_type"] = equipped.group("equipped")
    if not rows:
        raise TextParseError("no card rows")
    return rows


def parse_mdas(text: str) -> list[Row]:
    """`show mda`: a row per MDA; the slot is printed on the first MDA of each card only, so it carries down."""
    rows: list[Row] = []
    slot = ""
    for _, body in sections(command_output(text)):
        for line in _table_rows(body):
            match = _MDA_ROW.match(line)
            if match:
                slot = match.group("slot") or slot
                rows.append(
                    {
                        "slot": slot,
                        "mda": match.group("mda"),
                        "provisioned_type": match.group("type"),
                        "equipped_type": "",
                        "admin_state": match.group("admin"),
                        "operational_state": match.group("oper"),
                    }
                )
            elif rows and (equipped := _EQUIPPED.match(line)):
                rows[-1]["equipped_type"] = equipped.group("equipped")
    if not rows:
        raise TextParseError("no MDA rows")
    return rows


_SHOW = r"sh(?:ow?)?"
# (whole command, parser) for the commands ntc-templates has no template for.
OWN_PARSERS: tuple[tuple[re.Pattern[str], Callable[[str], list[Row]]], ...] = (
    (re.compile(rf"{_SHOW} port(?: \S+)?(?: detail)?"), parse_port_detail),
    (re.compile(rf"{_SHOW} system information"), parse_label_report),
    (re.compile(rf"{_SHOW} version"), parse_version),
    (re.compile(rf"{_SHOW} system memory-pools"), parse_memory_pools),
    (re.compile(rf"{_SHOW} chassis(?: detail| environment| power-supply)?"), parse_chassis),
    (re.compile(rf"{_SHOW} system alarms"), parse_alarms),
    (re.compile(rf"{_SHOW} card(?: \w+)?"), parse_cards),
    (re.compile(rf"{_SHOW} mda(?: \S+)?"), parse_mdas),
)
_PORT_WITH_ARGUMENT = re.compile(rf"{_SHOW} port \S+")
_PORT_LISTING = re.compile(r"^Ports on ", re.M)


def parser_for(command: str, output: str = "") -> SrosParser | None:
    """The parser for a command's output: its ntc-templates template if there is one, else ours, else None.

    `show port <id>` prints the port table for a slot, MDA, satellite or cross-connect and the detail report for
    one port: the output says which, so it chooses between the template and our detail parser.
    """
    command = normalise_command(command)
    if _PORT_WITH_ARGUMENT.fullmatch(command) and _PORT_LISTING.search(output):
        command = "show port"
    template = template_for(command)
    if template is not None:
        return SrosParser(f"ntc-templates {template}", functools.partial(parse_with_template, template))
    for pattern, parse in OWN_PARSERS:
        if pattern.fullmatch(command):
            return SrosParser(f"edgeops {parse.__name__}", parse)
    return None


def parse_sros(command: str, output: str) -> list[Row]:
    """Rows from an SR OS command's output (MD-CLI or classic); raises NoParser or TextParseError."""
    parser = parser_for(command, output)
    if parser is None:
        raise NoParser(f"no parser for {normalise_command(command)!r} on SR OS")
    return parser.parse(output)
