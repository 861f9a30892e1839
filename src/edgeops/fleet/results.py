"""What a multi-device run produced, made readable: identical outputs folded, diffs, a summary, files per device."""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeops.devices.samples import CommandResult
from edgeops.files import write_private
from edgeops.naming import natural_key
from edgeops.redaction import redact
from edgeops.textsafety import json_text, strip_control

# Every refusal the command runner produces starts with this, whatever the rule (a person reads it; code branches on
# CommandResult.failure is Failure.REFUSED and reads the rule from CommandResult.guard_rule).
GUARD_REFUSAL_PREFIX = "refused by the read-only guard"
RANGE_DASH = "\u2013"  # an en dash, as in a printed range of pages
SLOWEST_SHOWN = 5
# Runs of consecutive numbers this long or longer are written as a range; shorter ones are listed.
_MIN_RANGE = 3
_NUMBERED = re.compile(r"^(?P<stem>.*?)(?P<number>\d+)$")
_SAFE_FILE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")


def failure_class(result: CommandResult) -> str:
    """The failure class to count a failed result under (its Failure's value; "failed" for one without a code)."""
    return result.failure.value if result.failure is not None else "failed"


# -- grouping ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputGroup:
    """Devices whose command produced exactly the same text (or failed for exactly the same reason)."""

    devices: tuple[str, ...]  # in natural order: leaf2 before leaf10
    output: str
    ok: bool = True
    reason: str = ""

    @property
    def label(self) -> str:
        return device_range_label(self.devices)

    @property
    def count(self) -> int:
        return len(self.devices)


def group_identical(results: Iterable[CommandResult]) -> list[OutputGroup]:
    """Results folded by identical output (failures by identical reason), largest group first.

    Trailing whitespace at line ends is ignored: it is how terminals pad, not what a device said.
    """
    members: dict[tuple[bool, str], list[str]] = {}
    texts: dict[tuple[bool, str], str] = {}
    for result in results:
        key = (True, _normalised(result.output)) if result.ok else (False, result.reason)
        members.setdefault(key, []).append(result.device)
        texts.setdefault(key, result.output)
    groups = [
        OutputGroup(
            devices=tuple(sorted(names, key=natural_key)),
            output=texts[key],
            ok=key[0],
            reason="" if key[0] else key[1],
        )
        for key, names in members.items()
    ]
    # Successes before failures, then the biggest groups, then by first device so the order is stable.
    groups.sort(key=lambda group: (not group.ok, -group.count, natural_key(group.devices[0])))
    return groups


def _normalised(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.strip("\n").splitlines())


def device_range_label(names: Sequence[str]) -> str:
    """A short label for a set of devices: alcala-leaf1 to alcala-leaf4 as "alcala-leaf1" RANGE_DASH "leaf4",
    commas between the rest.

    Runs are names that differ only in a trailing number, consecutive, with the same zero padding.
    """
    ordered = sorted(dict.fromkeys(names), key=natural_key)
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        end = index
        match = _NUMBERED.match(ordered[index])
        if match:
            stem, number = match["stem"], match["number"]
            while end + 1 < len(ordered):
                following = _NUMBERED.match(ordered[end + 1])
                expected = int(number) + (end + 1 - index)
                if not following or following["stem"] != stem or not _same_width(number, following["number"]):
                    break
                if int(following["number"]) != expected:
                    break
                end += 1
        if end - index + 1 >= _MIN_RANGE:
            first, last = ordered[index], ordered[end]
            parts.append(f"{first}{RANGE_DASH}{_without_shared_prefix(last, first)}")
        else:
            parts.extend(ordered[index : end + 1])
        index = end + 1
    return ", ".join(parts)


def _same_width(first: str, other: str) -> bool:
    """leaf1..leaf12 is one run; leaf01..leaf12 too; leaf1 and leaf01 are not the same series."""
    padded = first.startswith("0") or other.startswith("0")
    return not padded or len(first) == len(other)


def _without_shared_prefix(last: str, first: str) -> str:
    """ "alcala-leaf4" after "alcala-leaf1" reads "leaf4": drop the shared part up to its last separator."""
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    shared = first[:length]
    cut = max(shared.rfind("-"), shared.rfind("_"), shared.rfind("."), shared.rfind("/"))
    return last[cut + 1 :] if cut >= 0 else last


# -- diffs ------------------------------------------------------------------------------------------------


def diff_against(results: Iterable[CommandResult], reference_device: str) -> dict[str, str]:
    """Each other device's output as a unified diff against the reference device's ("" when identical).

    Only successful results are compared (a failure has no output to compare); ValueError if the reference
    device is not among the results or its own command failed.
    """
    by_device = {result.device: result for result in results}
    reference = by_device.get(reference_device)
    if reference is None:
        raise ValueError(f"{reference_device} is not one of the devices the command ran on")
    if not reference.ok:
        raise ValueError(f"nothing to compare against: the command failed on {reference_device}: {reference.reason}")
    reference_lines = _normalised(reference.output).splitlines(keepends=False)
    diffs: dict[str, str] = {}
    for name, result in by_device.items():
        if name == reference_device or not result.ok:
            continue
        lines = _normalised(result.output).splitlines(keepends=False)
        diff = difflib.unified_diff(reference_lines, lines, fromfile=reference_device, tofile=name, lineterm="")
        diffs[name] = "\n".join(diff)
    return diffs


# -- summary ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceTiming:
    device: str
    duration_s: float


@dataclass(frozen=True)
class RunSummary:
    """The counts a person reads after a run, and what summary.json holds."""

    total: int
    ok: int
    failed: int
    refused: int  # by the read-only guard: never sent (also counted in failed)
    failures: Mapping[str, int] = field(default_factory=dict)  # failure class -> devices, most frequent first
    slowest: tuple[DeviceTiming, ...] = ()
    elapsed_s: float | None = None  # wall time of the whole run, when the caller measured it
    command: str = ""

    @property
    def all_ok(self) -> bool:
        return self.failed == 0

    @property
    def all_refused(self) -> bool:
        return self.total > 0 and self.refused == self.total

    def headline(self) -> str:
        """E.g. "136 devices: 134 ok, 2 failed (timeout 1, connection-lost 1) in 3.2 s"."""
        text = f"{self.total} device{'' if self.total == 1 else 's'}: {self.ok} ok, {self.failed} failed"
        if self.failures:
            text += " (" + ", ".join(f"{name} {count}" for name, count in self.failures.items()) + ")"
        if self.elapsed_s is not None:
            text += f" in {self.elapsed_s:.1f} s"
        return text

    def slowest_line(self) -> str:
        if not self.slowest:
            return ""
        return "slowest: " + ", ".join(f"{timing.device} {timing.duration_s:.2f} s" for timing in self.slowest)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": redact(self.command),
            "total": self.total,
            "ok": self.ok,
            "failed": self.failed,
            "refused": self.refused,
            "failures": dict(self.failures),
            "slowest": [
                {"device": timing.device, "duration_s": round(timing.duration_s, 3)} for timing in self.slowest
            ],
            "elapsed_s": None if self.elapsed_s is None else round(self.elapsed_s, 3),
        }


def summarise(
    results: Iterable[CommandResult],
    *,
    elapsed_s: float | None = None,
    command: str = "",
    slowest: int = SLOWEST_SHOWN,
) -> RunSummary:
    """Counts of ok and failed results, failures by class, and the slowest devices that answered."""
    results = list(results)
    failed = [result for result in results if not result.ok]
    classes = Counter(failure_class(result) for result in failed)
    sent = [result for result in results if not result.refused]
    timings = sorted(sent, key=lambda result: result.duration_s, reverse=True)[:slowest]
    return RunSummary(
        total=len(results),
        ok=len(results) - len(failed),
        failed=len(failed),
        refused=sum(1 for result in failed if result.refused),
        failures=dict(sorted(classes.items(), key=lambda item: (-item[1], item[0]))),
        slowest=tuple(DeviceTiming(result.device, max(result.duration_s, 0.0)) for result in timings),
        elapsed_s=elapsed_s,
        command=command,
    )


# -- files ------------------------------------------------------------------------------------------------


def device_file_name(device: str) -> str:
    """A file name for a device's output: its name with anything but letters, digits, . _ - replaced by _."""
    safe = _SAFE_FILE_CHARACTERS.sub("_", device).lstrip(".") or "_"
    return f"{safe}.txt"


def write_out_dir(
    directory: str | os.PathLike[str],
    results: Sequence[CommandResult],
    summary: RunSummary,
    *,
    details: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write `<device>.txt` (the output, made inert for a terminal) per device and `summary.json`.

    summary.json holds the summary plus one entry per device (ok, failure, reason, duration, file);
    `details` adds fields per device name (site, platform, the command as sent). Returns the directory.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    devices = []
    for result in results:
        # A refused command was never sent: no device answered, so there is no output file to write.
        name: str | None = None
        if not result.refused:
            name = _unique(device_file_name(result.device), used)
            (folder / name).write_text(redact(strip_control(result.output)), encoding="utf-8")
        entry: dict[str, Any] = {"name": result.device}
        entry.update((details or {}).get(result.device, {}))
        entry.update(
            {
                "command": redact(entry.get("command", result.command)),
                "ok": result.ok,
                "failure": result.failure or "",
                "reason": redact(result.reason),
                "duration_s": round(max(result.duration_s, 0.0), 3),
                "file": name,
            }
        )
        devices.append(entry)
    document = {**summary.to_dict(), "devices": devices}
    write_private(folder / "summary.json", json_text(document, indent=2) + "\n")  # a reader never sees half of it
    return folder


def _unique(name: str, used: set[str]) -> str:
    """Two device names that sanitise alike ("a/b", "a_b") must not overwrite each other's file."""
    candidate, number = name, 2
    while candidate.casefold() in used:
        candidate = f"{name[: -len('.txt')]}-{number}.txt"
        number += 1
    used.add(candidate.casefold())
    return candidate
