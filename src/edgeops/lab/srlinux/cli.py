"""The command line of a simulated SR Linux switch: banner, prompt, modes, show and info commands, modifiers."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from edgeops.lab.cli_engine import CliReply
from edgeops.lab.faults import FaultState
from edgeops.lab.model import DeviceModel, LabInterface
from edgeops.lab.srlinux import render
from edgeops.lab.srlinux.render import NoSuchObject, Report, UnknownToken, YangList

# What the device offers besides the words valid at a point: comments, navigation, redirection, pipes, braces.
PUNCTUATION = ("#", "..", "/", ">", ">>", "|", "}")
SCHEMA_ROOTS = ("interface", "platform", "system")
ROOT_COMMANDS = (
    "bash",
    "commit",
    "delete",
    "discard",
    "enter",
    "environment",
    "exit",
    "info",
    "quit",
    "save",
    "set",
    "show",
)
SHOW_COMMANDS = ("interface", "platform", "version")
SHOW_INTERFACE_VIEWS = ("all", "brief", "detail")
SHOW_PLATFORM_COMMANDS = ("chassis", "control", "environment", "fan-tray", "linecard", "power-supply")
PIPE_COMMANDS = ("as", "filter", "grep", "more")
OUTPUT_FORMATS = ("json", "text", "yaml")
CONFIG_FILE = "/etc/opt/srlinux/config.json"
ENV_FILE = "/etc/opt/srlinux/srlinux.rc"


class CommandError(Exception):
    """A command the device refuses; the message is what it prints."""


def parsing_error(token: str, options: list[str] | tuple[str, ...]) -> CommandError:
    listed = ", ".join(repr(option) for option in sorted({*options, *PUNCTUATION}))
    return CommandError(f"Parsing error: Unknown token '{token}'.\nOptions are [{listed}]")


def incomplete(options: list[str] | tuple[str, ...]) -> CommandError:
    listed = ", ".join(repr(option) for option in sorted(options))
    return CommandError(f"Parsing error: Incomplete command.\nOptions are [{listed}]")


def missing_object(path: str) -> CommandError:
    return CommandError(f"Error: Path '{path}' does not specify any existing objects")


def candidate_only(command: str) -> CommandError:
    return CommandError(
        f"Error: Command '{command}' is only available in candidate mode. Use 'enter candidate' to start a transaction."
    )


def split_line(line: str) -> list[list[str]]:
    """Words of a command line, split at unquoted `|` into the command and its output modifiers."""
    segments: list[list[str]] = [[]]
    word: list[str] = []
    quote: str | None = None
    pending = False  # a quoted empty string is still a word
    for char in line:
        if quote:
            if char == quote:
                quote = None
            else:
                word.append(char)
            continue
        if char in "\"'":
            quote, pending = char, True
        elif char.isspace() or char == "|":
            if word or pending:
                segments[-1].append("".join(word))
                word, pending = [], False
            if char == "|":
                segments.append([])
        else:
            word.append(char)
    if quote:
        raise CommandError("Parsing error: Unterminated quoted string.")
    if word or pending:
        segments[-1].append("".join(word))
    return segments


def release_major(version: str) -> int:
    match = re.match(r"v?(\d+)", version)
    return int(match.group(1)) if match else 0


@dataclass
class InfoResult:
    """The output of `info`: a selected part of the tree, encoded at the end of the pipeline."""

    tree: dict[str, Any]
    now: float


@dataclass
class Candidate:
    """An open configuration transaction."""

    kind: str  # shared / private / exclusive
    descriptions: dict[str, str] = field(default_factory=dict)  # interface -> new description
    other_changes: int = 0  # accepted `set`/`delete` lines the lab does not model

    @property
    def changed(self) -> bool:
        return bool(self.descriptions) or self.other_changes > 0


class SrLinuxCli:
    """One CLI session on a simulated SR Linux device (implements `CliEngine`)."""

    def __init__(self, model: DeviceModel, faults: FaultState, *, user: str | None = None) -> None:
        self.model = model
        self.faults = faults
        self.user = user or model.identity.username
        # 25.x shows `A:user@host#` and greets with the new banner; 24.10 and older show `A:host#`.
        self.release = release_major(model.identity.version)
        self.candidate: Candidate | None = None
        self.running_differs_from_startup = False
        self.context: list[str] = []

    # -- CliEngine ------------------------------------------------------------------------------------

    @property
    def page_lines(self) -> int | None:
        return None  # SR Linux does not page unless asked to

    @property
    def pager_prompt(self) -> str:
        return ""

    def banner(self) -> str:
        if self.release >= 25:
            return f"Loading environment configuration file(s): ['{ENV_FILE}']\nWelcome to the Nokia SR Linux CLI.\n"
        return (
            f"Using configuration file(s): ['{ENV_FILE}']\n"
            "Welcome to the srlinux CLI.\n"
            "Type 'help' (and press <ENTER>) if you need any help using this.\n"
        )

    def prompt(self) -> str:
        flags = ("+" if self.running_differs_from_startup else "") + (
            "*" if self.candidate and self.candidate.changed else ""
        )
        mode = "running" if self.candidate is None else self._candidate_label(self.candidate.kind)
        state = f"{flags} {mode}" if flags else mode
        where = f" {' '.join(self.context)} " if self.context else "  "
        host = f"{self.user}@{self.model.identity.name}" if self.release >= 25 else self.model.identity.name
        return f"\n--{{ {state} }}--[{where}]--\nA:{host}# "

    def execute(self, line: str) -> CliReply:
        try:
            segments = split_line(line)
            command, pipes = segments[0], segments[1:]
            if not command:
                if pipes:
                    raise incomplete(ROOT_COMMANDS)
                return CliReply("")
            if command[0] in ("quit", "logout") and len(command) == 1:
                return CliReply("", close=True)
            if command == ["exit"] and not self.context:
                return CliReply("", close=True)
            result = self._run(command)
            return CliReply(_terminated(self._apply_pipes(result, pipes)))
        except CommandError as error:
            return CliReply(_terminated(str(error)))

    # -- dispatch -------------------------------------------------------------------------------------

    def _candidate_label(self, kind: str) -> str:
        if kind == "private":
            return f"candidate private private-{self.user}"
        return f"candidate {kind} default"

    def _run(self, words: list[str]) -> Report | InfoResult | str:
        head, args = words[0], words[1:]
        # `/show version` runs a command from the root whatever the context.
        if head.startswith("/") and head[1:] in ROOT_COMMANDS:
            head = head[1:]
        if head == "show":
            return self._show(args)
        if head == "info":
            return self._info(args)
        if head == "environment":
            return ""  # scrapli's cli-engine and complete-on-space settings: nothing to print
        if head == "enter":
            return self._enter(args)
        if head in ("commit", "discard"):
            return self._finish_transaction(head, args)
        if head in ("set", "delete"):
            return self._edit(head, args)
        if head == "save":
            return self._save(args)
        if head == "exit":
            return self._exit(args)
        if head == "bash":
            # The lab has no Linux shell behind the CLI; a real device refuses it the same way to a role without it.
            raise CommandError("Error: No authorization to execute command: 'bash'")
        if head in SCHEMA_ROOTS or head.startswith("/") or head == ".." or self.context:
            return self._navigate(words)
        raise parsing_error(head, (*ROOT_COMMANDS, *SCHEMA_ROOTS))

    def _now(self) -> float:
        return self.model.advance()

    # -- modes and transactions -----------------------------------------------------------------------

    def _enter(self, args: list[str]) -> str:
        if not args:
            raise incomplete(["candidate", "running"])
        target, rest = args[0], args[1:]
        if target == "running" and not rest:
            self.candidate = None
            return ""
        if target != "candidate":
            raise parsing_error(target, ["candidate", "running"])
        kinds = ("exclusive", "private", "shared")
        kind = rest[0] if rest else "shared"
        if kind not in kinds:
            raise parsing_error(kind, kinds)
        self._no_more(rest[1:])
        if self.candidate is None or self.candidate.kind != kind:
            self.candidate = Candidate(kind)
        return ""

    def _finish_transaction(self, head: str, args: list[str]) -> str:
        actions = ("now", "save", "stay") if head == "commit" else ("now", "stay")
        if self.candidate is None:
            raise candidate_only(head)
        if not args:
            raise incomplete(actions)
        if args[0] not in actions:
            raise parsing_error(args[0], actions)
        if len(args) > 1:
            raise parsing_error(args[1], [])
        action = args[0]
        if head == "discard":
            self.candidate = None if action == "now" else Candidate(self.candidate.kind)
            return (
                "All changes have been discarded. Leaving candidate mode."
                if action == "now"
                else "All changes have been discarded. Starting new transaction."
            )
        if self.candidate.changed:
            self.running_differs_from_startup = True
        for name, text in self.candidate.descriptions.items():
            if name in self.model.interfaces:
                self.model.set_description(name, text)  # the gNMI server sees the commit too
        kind = self.candidate.kind
        if action == "stay":
            self.candidate = Candidate(kind)
            return "All changes have been committed. Starting new transaction."
        self.candidate = None
        if action == "save":
            return self._saved() + "\nAll changes have been committed. Leaving candidate mode."
        return "All changes have been committed. Leaving candidate mode."

    def _edit(self, head: str, args: list[str]) -> str:
        if self.candidate is None:
            raise candidate_only(head)
        path, _ = self._path(args, allow_relative=True) if args else ([], False)
        if not path:
            raise incomplete(SCHEMA_ROOTS)
        if path[0] not in SCHEMA_ROOTS:
            raise parsing_error(path[0], SCHEMA_ROOTS)
        if len(path) >= 3 and path[0] == "interface" and path[2] == "description":
            if head == "set":
                if len(path) < 4:
                    raise incomplete(["<value>"])
                self.candidate.descriptions[path[1]] = " ".join(path[3:])
            else:
                self.candidate.descriptions[path[1]] = ""
            return ""
        self.candidate.other_changes += 1
        return ""

    def _save(self, args: list[str]) -> str:
        if args != ["startup"]:
            raise incomplete(["startup"]) if not args else parsing_error(args[0], ["startup"])
        return self._saved()

    def _saved(self) -> str:
        self.running_differs_from_startup = False
        return (
            "/system/configuration/save:\n"
            f"    Saved current running configuration as initial (startup) configuration '{CONFIG_FILE}'\n"
        )

    # -- context navigation ---------------------------------------------------------------------------

    def _exit(self, args: list[str]) -> str:
        if args == ["all"]:
            self.context = []
        elif args:
            raise parsing_error(args[0], ["all"])
        else:
            self.context = self._parent(self.context)
        return ""

    @staticmethod
    def _parent(context: list[str]) -> list[str]:
        # A list entry is two words (name and key); a container is one.
        if len(context) >= 2 and context[-2] in render.LIST_NAMES:
            return context[:-2]
        return context[:-1]

    def _navigate(self, words: list[str]) -> str:
        if words == ["/"]:
            self.context = []
            return ""
        if words == [".."]:
            self.context = self._parent(self.context)
            return ""
        path, _ = self._path(words, allow_relative=True)
        tree = render.state_root(self.model, self._now(), config_only=False)
        try:
            render.select(tree, path)
        except UnknownToken as error:
            # An unknown first word may have been meant as a command rather than a place.
            first_word = error.token == words[0]
            raise parsing_error(
                error.token, [*error.options, *ROOT_COMMANDS] if first_word else error.options
            ) from None
        except NoSuchObject as error:
            raise missing_object(error.path) from None
        if not render.is_container_path(tree, path):
            raise CommandError(f"Error: '{' '.join(path)}' is not a container or a list entry")
        self.context = path
        return ""

    def _path(self, words: list[str], *, allow_relative: bool) -> tuple[list[str], bool]:
        """Schema path words from a command's arguments, and whether the path was absolute."""
        if not words:
            return list(self.context), False
        first = words[0]
        if first == "/":
            return words[1:], True
        if first.startswith("/"):
            if "[" in first and len(words) == 1:
                return render.xpath_tokens(first), True
            return [first[1:], *words[1:]], True
        return (self.context + words if allow_relative else words), False

    # -- info -----------------------------------------------------------------------------------------

    def _info(self, args: list[str]) -> InfoResult:
        datastore = "candidate" if self.candidate else "running"
        if args[:1] == ["from"]:
            if len(args) < 2:
                raise incomplete(["candidate", "running", "state"])
            if args[1] not in ("candidate", "running", "state"):
                raise parsing_error(args[1], ["candidate", "running", "state"])
            datastore, args = args[1], args[2:]
        if datastore == "candidate" and self.candidate is None:
            raise candidate_only("info from candidate")
        now = self._now()
        path, _ = self._path(args, allow_relative=True)
        root = render.state_root(self.model, now, config_only=datastore != "state")
        if datastore == "candidate" and self.candidate is not None:
            root["interface"] = self._with_pending_descriptions(root["interface"], self.candidate.descriptions)
        try:
            selected = render.select(root, path)
        except UnknownToken as error:
            raise parsing_error(error.token, error.options) from None
        except NoSuchObject as error:
            raise missing_object(error.path) from None
        if datastore == "state":
            # State is printed wrapped in its parents, from the current context down.
            inside_context = bool(self.context) and path[: len(self.context)] == self.context
            tree = render.unwrap(selected, self.context) if inside_context else selected
        else:
            tree = render.unwrap(selected, path)
        return InfoResult(tree, now)

    def _with_pending_descriptions(self, interfaces: YangList, pending: dict[str, str]) -> YangList:
        def build(name: str) -> dict[str, Any]:
            node = interfaces.entry(name)
            if name in pending:
                node = {key: value for key, value in node.items() if key != "description"}
                if pending[name]:
                    node = {"description": pending[name], **node}
            return node

        return YangList(interfaces.key, interfaces.keys, build)

    # -- show -----------------------------------------------------------------------------------------

    def _show(self, args: list[str]) -> Report:
        if not args:
            raise incomplete(SHOW_COMMANDS)
        what, rest = args[0], args[1:]
        now = self._now()
        if what == "version":
            self._no_more(rest)
            return render.show_version(self.model, hostile=self.faults.hostile_text)
        if what == "interface":
            return self._show_interface(rest, now)
        if what == "platform":
            return self._show_platform(rest)
        raise parsing_error(what, SHOW_COMMANDS)

    @staticmethod
    def _no_more(rest: list[str], options: tuple[str, ...] = ()) -> None:
        if rest:
            raise parsing_error(rest[0], options)

    def _matching_interfaces(self, pattern: str) -> list[LabInterface]:
        everything = render.sorted_interfaces(self.model)
        if any(char in pattern for char in "*?["):
            found = [iface for iface in everything if fnmatch.fnmatchcase(iface.name, pattern)]
        else:
            found = [self.model.interfaces[pattern]] if pattern in self.model.interfaces else []
        if not found:
            raise missing_object(f"/interface[name={pattern}]")
        return found

    def _show_interface(self, args: list[str], now: float) -> Report:
        if not args:
            return render.show_interface_summary(self.model, include_down=False)
        if args[0] in SHOW_INTERFACE_VIEWS:
            view, targets, named = args[0], render.sorted_interfaces(self.model), False
            self._no_more(args[1:])
        else:
            targets, named = self._matching_interfaces(args[0]), True
            view = args[1] if len(args) > 1 else ""
            if view and view not in SHOW_INTERFACE_VIEWS:
                raise parsing_error(view, SHOW_INTERFACE_VIEWS)
            self._no_more(args[2:])
        if view == "brief":
            return render.show_interface_brief(self.model, targets)
        if view == "detail":
            reports = [render.show_interface_detail(self.model, iface, now) for iface in targets]
            return _combine(reports)
        if named:
            return _combine([render.show_interface_one(self.model, iface) for iface in targets])
        return render.show_interface_summary(self.model, include_down=view == "all")

    def _show_platform(self, args: list[str]) -> Report:
        if not args:
            raise incomplete(SHOW_PLATFORM_COMMANDS)
        what, rest = args[0], args[1:]
        if what == "chassis":
            self._no_more(rest)
            return render.show_platform_chassis(self.model)
        if what == "environment":
            self._no_more(rest)
            return render.show_platform_environment(self.model)
        if what not in SHOW_PLATFORM_COMMANDS:
            raise parsing_error(what, SHOW_PLATFORM_COMMANDS)
        ident = rest[0] if rest and rest[0] != "detail" else None
        detail_words = rest[1:] if ident is not None else rest
        key_name = {"control": "slot", "linecard": "slot"}.get(what, "id")
        if ident not in (None, "*") and not render.module_exists(self.model, what, ident):
            raise missing_object(f"/platform/{what}[{key_name}={ident}]")
        has_detail = what != "linecard"
        if detail_words[:1] == ["detail"] and has_detail:
            self._no_more(detail_words[1:])
            if what == "control":
                return render.show_platform_control_detail(self.model)
            idents = [ident] if ident not in (None, "*") else [str(i) for i in self._component_ids(what)]
            return _combine([render.show_platform_component_detail(self.model, what, i) for i in idents])
        self._no_more(detail_words, ("detail",) if has_detail else ())
        return render.show_platform_modules(self.model, what, ident)

    def _component_ids(self, kind: str) -> list[int]:
        components = self.model.fans if kind == "fan-tray" else self.model.power_supplies
        return [component.ident for component in components]

    # -- output modifiers -----------------------------------------------------------------------------

    def _apply_pipes(self, result: Report | InfoResult | str, pipes: list[list[str]]) -> str:
        current: Report | InfoResult | str = result
        for pipe in pipes:
            if not pipe:
                raise incomplete(PIPE_COMMANDS)
            verb, args = pipe[0], pipe[1:]
            if verb == "as":
                current = self._as_format(current, args)
            elif verb == "grep":
                current = _grep(_text(current), args)
            elif verb == "filter":
                current = _filter(current, args)
            elif verb == "more":
                continue  # paging is the terminal's business here
            else:
                raise CommandError(
                    f"Parsing error: Unknown token '{verb}'.\nOptions are [{', '.join(repr(v) for v in PIPE_COMMANDS)}]"
                )
        return _text(current)

    @staticmethod
    def _as_format(current: Report | InfoResult | str, args: list[str]) -> str:
        if not args:
            raise incomplete(OUTPUT_FORMATS)
        fmt = args[0]
        if fmt not in OUTPUT_FORMATS or len(args) > 1:
            raise parsing_error(fmt if fmt not in OUTPUT_FORMATS else args[1], OUTPUT_FORMATS)
        if fmt == "text" or isinstance(current, str):
            return _text(current)
        data = current.data if isinstance(current, Report) else render.to_json_data(current.tree)
        return render.dump_json(data) if fmt == "json" else render.dump_yaml(data)


def _combine(reports: list[Report]) -> Report:
    if len(reports) == 1:
        return reports[0]
    return Report("".join(report.text for report in reports), [report.data for report in reports])


def _text(value: Report | InfoResult | str) -> str:
    if isinstance(value, Report):
        return value.text
    if isinstance(value, InfoResult):
        return render.render_info(value.tree, value.now)
    return value


def _grep(text: str, args: list[str]) -> str:
    flags = 0
    invert = whole_word = False
    words = list(args)
    while words and words[0].startswith("-") and len(words) > 1:
        option = words.pop(0)
        flags |= re.IGNORECASE if "i" in option else 0
        invert = invert or "v" in option
        whole_word = whole_word or "w" in option
    if not words:
        raise incomplete(["<pattern>"])
    pattern = " ".join(words)
    try:
        regex = re.compile(rf"\b(?:{pattern})\b" if whole_word else pattern, flags)
    except re.error:
        regex = re.compile(re.escape(pattern), flags)
    kept = [line for line in text.splitlines() if bool(regex.search(line)) != invert]
    return "".join(line + "\n" for line in kept)


def _filter(current: Report | InfoResult | str, args: list[str]) -> InfoResult:
    if not args or args[0] != "fields":
        raise incomplete(["fields"]) if not args else parsing_error(args[0], ["fields"])
    if len(args) < 2:
        raise incomplete(["<field>"])
    if not isinstance(current, InfoResult):
        raise CommandError("Error: 'filter fields' applies to the output of 'info'")
    return InfoResult(render.filter_fields(current.tree, set(args[1:])), current.now)


def _terminated(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
