"""The simulated SR OS command line: MD-CLI (with `//` into the classic engine) or a classic-only CLI."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edgeops.lab.cli_engine import CliReply
from edgeops.lab.faults import FaultState
from edgeops.lab.model import DeviceModel, stable_fraction
from edgeops.lab.sros import render

MD_PAGER_PROMPT = "Press Q to quit, Enter to print next line or any other key to print next page."
CLASSIC_PAGER_PROMPT = "Press any key to continue (Q to quit)"
DEFAULT_CONSOLE_LENGTH = 24
DEFAULT_CONSOLE_WIDTH = 80

SWITCH_TO_CLASSIC = "INFO: CLI #2051: Switching to the classic CLI engine"
SWITCH_TO_MD = "INFO: CLI #2052: Switching to the MD-CLI engine"
CLASSIC_CONFIG_BLOCKED = (
    "INFO: CLI #2050: Classic CLI modification of the configuration is not allowed - "
    "'model-driven' management interface configuration mode active"
)
CLASSIC_BAD_COMMAND = "Error: Bad command."

CONFIG_MODES = {"exclusive": "ex", "private": "pr", "global": "gl", "read-only": "ro"}
ENTER_MODE_INFO = {
    "exclusive": [
        "INFO: CLI #2060: Entering exclusive configuration mode",
        "INFO: CLI #2061: Uncommitted changes are discarded on configuration mode exit",
    ],
    "private": [
        "INFO: CLI #2070: Entering private configuration mode",
        "INFO: CLI #2061: Uncommitted changes are discarded on configuration mode exit",
    ],
    "global": ["INFO: CLI #2054: Entering global configuration mode"],
    "read-only": ["INFO: CLI #2066: Entering read-only configuration mode"],
}

# Show commands: nested keywords down to a handler name (a `_show_<name>` method of the engine).
SHOW_TREE: dict[str, Any] = {
    "version": "version",
    "system": {
        "information": "system_information",
        "cpu": "system_cpu",
        "memory-pools": "memory_pools",
        "alarms": "alarms",
        "time": "system_time",
    },
    "port": "port",
    "router": {"interface": "router_interface"},
    "card": "card",
    "mda": "mda",
    "chassis": "chassis",
    "lag": "lag",
    "time": "time",
    "uptime": "uptime",
}
# Handlers that take further arguments; the others reject anything after their keyword.
SHOW_TAKES_ARGUMENTS = {"port", "router_interface", "card", "chassis", "lag"}
# Leaves of `environment` that MD-CLI accepts; the lab only acts on more, console width and length.
MD_ENVIRONMENT_LEAVES = {
    "more",
    "console",
    "command-completion",
    "progress-indicator",
    "time-format",
    "time-stamp",
    "message-severity-level",
    "prompt",
    "info-output",
    "command-alias",
}


class CliError(Exception):
    """A rejected command: the message lines, and the token the caret line points at (if any)."""

    def __init__(self, message: str, token: Token | None = None, caret_at_end: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.token = token
        self.caret_at_end = caret_at_end


@dataclass(frozen=True)
class Token:
    text: str  # without the quotes
    start: int  # column in the input line
    width: int  # characters the token covers in the input line, quotes included
    quoted: bool = False


def tokenize(line: str) -> list[Token]:
    """Split like the SR OS CLIs: blanks separate, double quotes group, an unquoted `|` stands alone."""
    tokens: list[Token] = []
    index = 0
    while index < len(line):
        char = line[index]
        if char.isspace():
            index += 1
            continue
        if char == "|":
            tokens.append(Token("|", index, 1))
            index += 1
            continue
        if char == '"':
            close = line.find('"', index + 1)
            text, end = (line[index + 1 :], len(line)) if close < 0 else (line[index + 1 : close], close + 1)
            tokens.append(Token(text, index, end - index, quoted=True))
            index = end
            continue
        end = index
        while end < len(line) and not line[end].isspace() and line[end] not in '|"':
            end += 1
        tokens.append(Token(line[index:end], index, end - index))
        index = end
    return tokens


@dataclass
class OutputFilter:
    """`| match ...` / `| count` / `| no-more` after a command."""

    pattern: re.Pattern[str] | None = None
    invert: bool = False
    count: bool = False

    def apply(self, lines: list[str]) -> list[str]:
        if self.pattern is not None:
            lines = [line for line in lines if bool(self.pattern.search(line)) != self.invert]
        if self.count:
            return [f"Count: {len(lines)} lines"]
        return lines


@dataclass
class Session:
    """Per-session CLI state (each SSH session gets its own engine)."""

    engine: str  # "md" or "classic"
    md_more: bool = True
    classic_more: bool = True
    console_length: int = DEFAULT_CONSOLE_LENGTH
    console_width: int = DEFAULT_CONSOLE_WIDTH
    terminal_length: int = DEFAULT_CONSOLE_LENGTH
    config_mode: str | None = None  # MD-CLI: exclusive / private / global / read-only
    md_context: list[str] = field(default_factory=list)  # ["configure", "port", "1/1/c1/1"]
    pending_descriptions: dict[str, str] = field(default_factory=dict)  # uncommitted MD-CLI changes
    classic_context: list[str] = field(default_factory=list)  # ["config", "port", "1/1/c1/1"]
    classic_unsaved: bool = True


class SrosCli:
    """One SR OS CLI session on a simulated 7750: MD-CLI by default, classic CLI with `classic=True`."""

    def __init__(self, model: DeviceModel, faults: FaultState, *, classic: bool = False) -> None:
        self.model = model
        self.faults = faults
        self.classic_only = classic
        self.session = Session(engine="classic" if classic else "md")

    # -- the CliEngine contract ---------------------------------------------------------------------

    def banner(self) -> str:
        year = render.release_year(self.model.identity.version)
        lines = [
            "",
            " SR OS Software",
            f" Copyright (c) Nokia {year}.  All Rights Reserved.",
            "",
            " Trademarks",
            "",
            " Nokia and the Nokia logo are trademarks of Nokia. Other trademarks are the",
            " property of their respective owners.",
            "",
            " This software is licensed, not sold. Its use is governed by the end user",
            " license agreement that accompanies the product; installing or using it means",
            " accepting that agreement on behalf of yourself and the business you represent.",
            "",
            " This product contains cryptographic features and is subject to the laws of",
            " the countries it is used in and exported to.",
            "",
            " If you require further assistance please contact us by sending an email",
            " to support@nokia.com.",
            "",
        ]
        return "\n".join(lines) + "\n"

    def prompt(self) -> str:
        if self.session.engine == "classic":
            return self._classic_prompt()
        return f"\n{self._md_context_line()}\n{self._md_host_line()}"

    @property
    def page_lines(self) -> int | None:
        s = self.session
        if s.engine == "classic":
            return max(s.terminal_length - 1, 1) if s.classic_more else None
        return max(s.console_length - 1, 1) if s.md_more else None

    @property
    def pager_prompt(self) -> str:
        return CLASSIC_PAGER_PROMPT if self.session.engine == "classic" else MD_PAGER_PROMPT

    def set_terminal_size(self, width: int, height: int) -> None:
        """The SSH server passes the client's window size, as a real SSH login sets the console size."""
        if height > 0:
            self.session.console_length = self.session.terminal_length = height
        if width > 0:
            self.session.console_width = width

    def execute(self, line: str) -> CliReply:
        self.model.advance()
        line = line.rstrip("\r\n")
        if not line.strip():
            return CliReply("")
        if self.session.engine == "classic":
            lines, close = self._run_classic(line, self._classic_prompt())
        else:
            lines, close = self._run_md(line, self._md_host_line())
        return CliReply("".join(f"{text}\n" for text in lines), close=close)

    # -- prompts ------------------------------------------------------------------------------------

    def _md_host_line(self) -> str:
        return f"A:{self.model.identity.username}@{self.model.identity.name}# "

    def _md_context_line(self) -> str:
        s = self.session
        path = "/" + " ".join(s.md_context) if s.md_context else "/"
        if s.config_mode is None:
            return f"[{path}]"
        dirty = "*" if s.pending_descriptions else ""
        return f"{dirty}({CONFIG_MODES[s.config_mode]})[{path}]"

    def _classic_prompt(self) -> str:
        s = self.session
        star = "*" if s.classic_unsaved else ""
        context = "".join(f">{part}" for part in s.classic_context if not render.PORT_ID_SYNTAX.match(part))
        return f"{star}A:{self.model.identity.name}{context}# "

    # -- MD-CLI -------------------------------------------------------------------------------------

    def _run_md(self, line: str, prompt_line: str) -> tuple[list[str], bool]:
        stripped = line.lstrip()
        if stripped.startswith("//"):
            return self._md_to_classic(stripped[2:].strip()), False
        try:
            return self._md_command(line)
        except CliError as error:
            return self._error_lines(error, line, prompt_line, md=True), False

    def _md_to_classic(self, command: str) -> list[str]:
        if not command:
            self.session.engine = "classic"
            return [SWITCH_TO_CLASSIC, CLASSIC_CONFIG_BLOCKED]
        # One classic command: the classic engine echoes it behind its own prompt, then hands back.
        self.session.engine = "classic"
        prompt = self._classic_prompt()
        body, _ = self._run_classic("/" + command, prompt)
        self.session.engine = "md"
        return [SWITCH_TO_CLASSIC, CLASSIC_CONFIG_BLOCKED, f"{prompt}/{command}", *body, SWITCH_TO_MD]

    def _md_command(self, line: str) -> tuple[list[str], bool]:
        tokens = tokenize(line)
        tokens, output_filter = self._split_pipe(tokens, md=True)
        if not tokens:
            raise CliError("MINOR: MGMT_CORE #2201: Unknown element - '|'", tokenize(line)[0])
        head = tokens[0]
        word = head.text[1:] if head.text.startswith("/") and len(head.text) > 1 else head.text
        s = self.session
        if word == "show":
            return output_filter.apply(self._show(tokens[1:], md=True)), False
        if word == "environment":
            self._md_environment(tokens[1:], head)
            return [], False
        if word == "logout":
            return [], True
        if word == "edit-config":
            return self._edit_config(tokens), False
        if word == "ping":
            return output_filter.apply(self._ping(tokens, md=True)), False
        if word in ("quit-config", "commit", "discard", "info", "exit", "back", "top", "configure", "delete"):
            return output_filter.apply(self._md_config_command(word, tokens, absolute=head.text.startswith("/"))), False
        if s.config_mode is not None and s.md_context[:2] == ["configure", "port"] and not head.text.startswith("/"):
            self._md_port_leaf(s.md_context[2], tokens)
            return [], False
        if s.config_mode is not None and s.md_context == ["configure"] and word in ("port", "router"):
            self._md_configure(tokens, in_configure=True)
            return [], False
        raise CliError(f"MINOR: MGMT_CORE #2201: Unknown element - '{head.text}'", head)

    def _md_environment(self, args: list[Token], head: Token) -> None:
        s = self.session
        if not args:
            raise CliError("MINOR: CLI #2001: Missing element value - 'environment'", head)
        leaf = args[0]
        if leaf.text not in MD_ENVIRONMENT_LEAVES:
            # MD-CLI has no `no` form (that is classic syntax): `environment no more` is an unknown element.
            raise CliError(f"MINOR: MGMT_CORE #2201: Unknown element - '{leaf.text}'", leaf)
        if leaf.text == "more":
            if len(args) < 2:
                raise CliError("MINOR: CLI #2001: Missing element value - 'more'", leaf)
            s.md_more = self._boolean(args[1])
            self._no_more_tokens(args[2:])
        elif leaf.text == "console":
            if len(args) < 2 or args[1].text not in ("width", "length"):
                bad = args[1] if len(args) > 1 else leaf
                raise CliError(f"MINOR: MGMT_CORE #2201: Unknown element - '{bad.text}'", bad)
            if len(args) < 3:
                raise CliError(f"MINOR: CLI #2001: Missing element value - '{args[1].text}'", args[1])
            value = self._integer(args[2], 24 if args[1].text == "length" else 80, 512)
            if args[1].text == "width":
                s.console_width = value
            else:
                s.console_length = value
            self._no_more_tokens(args[3:])
        elif len(args) < 2:
            raise CliError(f"MINOR: CLI #2001: Missing element value - '{leaf.text}'", leaf)

    def _edit_config(self, tokens: list[Token]) -> list[str]:
        s = self.session
        if len(tokens) < 2:
            raise CliError("MINOR: CLI #2001: Missing element value - 'edit-config'", tokens[0])
        mode = tokens[1]
        if mode.text not in CONFIG_MODES:
            raise CliError(f"MINOR: MGMT_CORE #2201: Unknown element - '{mode.text}'", mode)
        self._no_more_tokens(tokens[2:])
        if s.config_mode is not None:
            raise CliError(f"MINOR: CLI #2069: Operation not allowed - already in {s.config_mode} configuration mode")
        s.config_mode = mode.text
        s.md_context = []
        s.pending_descriptions = {}
        return list(ENTER_MODE_INFO[mode.text])

    def _md_config_command(self, word: str, tokens: list[Token], absolute: bool) -> list[str]:
        s = self.session
        if s.config_mode is None and word != "info":
            if word in ("exit", "back", "top") and len(tokens) <= 2:
                return []  # nothing to leave at the operational root
            raise CliError("MINOR: CLI #2069: Operation not allowed - currently in operational mode")
        if word == "quit-config":
            self._no_more_tokens(tokens[1:])
            mode = s.config_mode
            s.config_mode, s.md_context, s.pending_descriptions = None, [], {}
            return [f"INFO: CLI #2064: Exiting {mode} configuration mode"]
        if word == "discard":
            self._no_more_tokens(tokens[1:])
            s.pending_descriptions = {}
            return []
        if word == "commit":
            self._no_more_tokens(tokens[1:])
            for port, text in s.pending_descriptions.items():
                self.model.set_description(port, text)
            s.pending_descriptions = {}
            return []
        if word in ("exit", "back"):
            if len(tokens) > 1 and tokens[1].text == "all":
                s.md_context = []
            else:
                s.md_context = s.md_context[:-2] if s.md_context[:2] == ["configure", "port"] else []
            return []
        if word == "top":
            s.md_context = []
            return []
        if word == "info":
            return self._md_info(tokens)
        if word == "delete":
            return self._md_delete(tokens)
        self._md_configure(tokens, in_configure=False)
        return []

    def _md_info(self, tokens: list[Token]) -> list[str]:
        s = self.session
        if s.config_mode is None:
            raise CliError("MINOR: CLI #2069: Operation not allowed - currently in operational mode")
        as_json = False
        for token in tokens[1:]:
            if token.text == "json":
                as_json = True
            elif token.text not in ("detail", "running"):
                raise CliError(f"MINOR: MGMT_CORE #2201: Unknown element - '{token.text}'", token)
        tree = render.configuration_tree(self.model, s.pending_descriptions)
        if s.md_context[:2] == ["configure", "port"]:
            entry = next(p for p in tree["port"] if p["port-id"] == s.md_context[2])
            leaves = {k: v for k, v in entry.items() if k != "port-id"}
            if as_json:
                return json.dumps({f"nokia-conf:{k}": v for k, v in leaves.items()}, indent=4).splitlines()
            return [f"    {k} {v if k != 'description' else chr(34) + str(v) + chr(34)}" for k, v in leaves.items()]
        return render.render_info_json(tree) if as_json else render.render_info_text(tree)

    def _md_delete(self, tokens: list[Token]) -> list[str]:
        self._require_writable()
        args = tokens[1:]
        if args and args[0].text.lstrip("/") == "configure":
            port = self._port_argument(args[1:3]) if len(args) >= 3 else None
            leaf = args[3] if len(args) > 3 else None
        elif self.session.md_context[:2] == ["configure", "port"]:
            port, leaf = self.session.md_context[2], (args[0] if args else None)
        else:
            port, leaf = None, args[0] if args else tokens[0]
        if port is None or leaf is None or leaf.text != "description":
            bad = leaf or tokens[0]
            raise CliError(f"MINOR: MGMT_CORE #2201: Unknown element - '{bad.text}'", bad)
        self.session.pending_descriptions[port] = ""
        return []

    def _md_configure(self, tokens: list[Token], in_configure: bool) -> None:
        """`/configure port X description "..."`, `configure port X` (enter its context), `port X` in /configure."""
        s = self.session
        args = tokens if in_configure else tokens[1:]
        if not args:
            s.md_context = ["configure"]
            return
        if args[0].text != "port":
            raise CliError(f"MINOR: MGMT_CORE #2201: Unknown element - '{args[0].text}'", args[0])
        if len(args) < 2:
            raise CliError("MINOR: CLI #2001: Missing element value - 'port-id'", args[0])
        port = self._port_argument(args[1:2])
        if len(args) == 2:
            s.md_context = ["configure", "port", port]
            return
        self._md_port_leaf(port, args[2:])

    def _md_port_leaf(self, port: str, args: list[Token]) -> None:
        leaf = args[0]
        if leaf.text == "description":
            if len(args) < 2:
                raise CliError("MINOR: CLI #2001: Missing element value - 'description'", leaf)
            self._no_more_tokens(args[2:])
            self._require_writable()
            self.session.pending_descriptions[port] = args[1].text
            return
        raise CliError(f"MINOR: MGMT_CORE #2201: Unknown element - '{leaf.text}'", leaf)

    def _require_writable(self) -> None:
        mode = self.session.config_mode
        if mode is None:
            raise CliError("MINOR: CLI #2069: Operation not allowed - currently in operational mode")
        if mode == "read-only":
            raise CliError("MINOR: CLI #2069: Operation not allowed - currently in read-only mode")

    # -- classic CLI --------------------------------------------------------------------------------

    def _run_classic(self, line: str, prompt_line: str) -> tuple[list[str], bool]:
        stripped = line.lstrip()
        if stripped.startswith("//"):
            if self.classic_only:
                error = CliError(CLASSIC_BAD_COMMAND, tokenize(line)[0])
                return self._error_lines(error, line, prompt_line, md=False), False
            command = stripped[2:].strip()
            self.session.engine = "md"
            if not command:
                return [SWITCH_TO_MD], False
            body, close = self._run_md(command, self._md_host_line())
            if not close:
                self.session.engine = "classic"
            return [SWITCH_TO_MD, *body, SWITCH_TO_CLASSIC], close
        try:
            return self._classic_command(line)
        except CliError as error:
            return self._error_lines(error, line, prompt_line, md=False), False

    def _classic_command(self, line: str) -> tuple[list[str], bool]:
        tokens = tokenize(line)
        tokens, output_filter = self._split_pipe(tokens, md=False)
        if not tokens:
            raise CliError(CLASSIC_BAD_COMMAND, tokenize(line)[0])
        head = tokens[0]
        text = head.text[1:] if head.text.startswith("/") and len(head.text) > 1 else head.text
        s = self.session
        in_port = s.classic_context[:2] == ["config", "port"]
        options = ["show", "environment", "logout", "exit", "back", "configure", "admin", "ping"]
        if in_port and not head.text.startswith("/"):
            options += ["description", "no"]
        word = self._keyword(Token(text, head.start, head.width), options, md=False)
        if word == "show":
            return output_filter.apply(self._show(tokens[1:], md=False)), False
        if word == "environment":
            self._classic_environment(tokens[1:], head)
            return [], False
        if word == "logout":
            return [], True
        if word == "ping":
            return output_filter.apply(self._ping(tokens, md=False)), False
        if word in ("exit", "back"):
            if len(tokens) > 1 and self._keyword(tokens[1], ["all"], md=False):
                s.classic_context = []
            elif s.classic_context[:2] == ["config", "port"]:
                s.classic_context = ["config"]
            else:
                s.classic_context = []
            return [], False
        if word == "admin":
            if len(tokens) < 2 or self._keyword(tokens[1], ["save"], md=False) != "save":
                raise CliError(CLASSIC_BAD_COMMAND, tokens[1] if len(tokens) > 1 else head)
            s.classic_unsaved = False
            return ["Writing file to cf3:\\config.cfg", "Saving configuration .... Completed."], False
        if word == "configure":
            self._classic_configure(tokens[1:])
            return [], False
        if word == "description":
            self._classic_description(s.classic_context[2], tokens[1:], head)
            return [], False
        # `no description` inside a port context
        if len(tokens) < 2 or self._keyword(tokens[1], ["description"], md=False) != "description":
            raise CliError(CLASSIC_BAD_COMMAND, tokens[1] if len(tokens) > 1 else head)
        self.model.set_description(s.classic_context[2], "")
        s.classic_unsaved = True
        return [], False

    def _classic_configure(self, args: list[Token]) -> None:
        s = self.session
        if not args:
            s.classic_context = ["config"]
            return
        if self._keyword(args[0], ["port"], md=False) != "port":
            raise CliError(CLASSIC_BAD_COMMAND, args[0])
        if len(args) < 2:
            raise CliError("Error: Missing parameter", args[0], caret_at_end=True)
        port = self._port_argument(args[1:2], md=False)
        if len(args) == 2:
            s.classic_context = ["config", "port", port]
            return
        if self._keyword(args[2], ["description"], md=False) != "description":
            raise CliError(CLASSIC_BAD_COMMAND, args[2])
        self._classic_description(port, args[3:], args[2])

    def _classic_description(self, port: str, args: list[Token], keyword: Token) -> None:
        if not args:
            raise CliError("Error: Missing parameter", keyword, caret_at_end=True)
        if len(args) > 1:
            raise CliError(CLASSIC_BAD_COMMAND, args[1])
        self.model.set_description(port, args[0].text)
        self.session.classic_unsaved = True

    def _classic_environment(self, args: list[Token], head: Token) -> None:
        s = self.session
        if not args:
            raise CliError("Error: Missing parameter", head, caret_at_end=True)
        word = self._keyword(args[0], ["more", "no", "terminal", "reduced-prompt", "time-stamp"], md=False)
        if word == "more":
            s.classic_more = True
        elif word == "no":
            if len(args) < 2:
                raise CliError("Error: Missing parameter", args[0], caret_at_end=True)
            if self._keyword(args[1], ["more", "reduced-prompt", "time-stamp"], md=False) == "more":
                s.classic_more = False
        elif word == "terminal":
            if len(args) < 3:
                raise CliError("Error: Missing parameter", args[-1], caret_at_end=True)
            which = self._keyword(args[1], ["length", "width"], md=False)
            value = self._integer(args[2], 1, 512, md=False)
            if which == "length":
                s.terminal_length = value
            else:
                s.console_width = value

    # -- show commands (both engines) ---------------------------------------------------------------

    def _show(self, args: list[Token], md: bool) -> list[str]:
        node: Any = SHOW_TREE
        consumed = 0
        while isinstance(node, dict):
            if consumed >= len(args):
                if md:
                    # MD-CLI completes on Enter: an incomplete command lists what may follow.
                    return ["", *(f" {option}" for option in sorted(node)), ""]
                raise CliError("Error: Missing parameter", args[-1] if args else None, caret_at_end=True)
            keyword = self._keyword(args[consumed], list(node), md=md)
            node = node[keyword]
            consumed += 1
        name = str(node)
        rest = args[consumed:]
        if name not in SHOW_TAKES_ARGUMENTS:
            self._no_more_tokens(rest, md=md)
        handler: Callable[[list[Token], bool], list[str]] = getattr(self, f"_show_{name}")
        lines = handler(rest, md)
        # MD-CLI separates table output from the command line with a blank line; classic does not.
        if md and lines and lines[0] == render.EQUALS:
            lines = ["", *lines]
        return lines

    def _show_version(self, args: list[Token], md: bool) -> list[str]:
        return render.render_version(self.model, hostile=self.faults.hostile_text)

    def _show_system_information(self, args: list[Token], md: bool) -> list[str]:
        return render.render_system_information(self.model)

    def _show_system_cpu(self, args: list[Token], md: bool) -> list[str]:
        return render.render_system_cpu(self.model)

    def _show_memory_pools(self, args: list[Token], md: bool) -> list[str]:
        return render.render_memory_pools(self.model)

    def _show_alarms(self, args: list[Token], md: bool) -> list[str]:
        return render.render_alarms(self.model)

    def _show_system_time(self, args: list[Token], md: bool) -> list[str]:
        return render.render_system_time(self.model)

    def _show_time(self, args: list[Token], md: bool) -> list[str]:
        return render.render_time(self.model)

    def _show_uptime(self, args: list[Token], md: bool) -> list[str]:
        return [f"System Up Time         : {render.format_uptime(self.model.uptime_s)}"]

    def _show_card(self, args: list[Token], md: bool) -> list[str]:
        lines = render.render_cards(self.model)
        if not args:
            return lines
        slots = [slot for slot, _ in self.model.hardware.cards]
        if args[0].text not in slots:
            raise CliError(self._unknown(args[0], md), args[0])
        self._no_more_tokens(args[1:], md=md)
        rows = [line for line in lines[6:-1] if line.split()[0] == args[0].text]
        return [render.EQUALS, f"Card {args[0].text}", *lines[2:6], *rows, render.EQUALS]

    def _show_chassis(self, args: list[Token], md: bool) -> list[str]:
        lines = render.render_chassis(self.model)
        if not args:
            return lines
        section = self._keyword(args[0], ["power-supply", "environment", "detail"], md=md)
        self._no_more_tokens(args[1:], md=md)
        if section == "detail":
            return lines
        title = "Power Supply Information" if section == "power-supply" else "Environment Information"
        start = lines.index(title)
        end = next(i for i in range(start + 1, len(lines)) if lines[i] in (render.DASHES, render.EQUALS))
        return [render.EQUALS, "Chassis 1 Detail", render.EQUALS, *lines[start:end], render.EQUALS]

    def _show_mda(self, args: list[Token], md: bool) -> list[str]:
        return render.render_mdas(self.model)

    def _show_lag(self, args: list[Token], md: bool) -> list[str]:
        if not args:
            return render.render_lag(self.model)
        self._no_more_tokens(args[1:], md=md)
        wanted = [lag for lag in self.model.lags if args[0].text in (str(lag.lag_id), lag.name)]
        if not wanted:
            raise CliError(self._unknown(args[0], md), args[0])
        return render.render_lag(self.model, wanted)

    def _show_router_interface(self, args: list[Token], md: bool) -> list[str]:
        interfaces = self.model.router_interfaces
        if args:
            wanted = args[0].text
            self._no_more_tokens(args[1:], md=md)
            interfaces = [ri for ri in interfaces if ri.name == wanted]
            if not interfaces:
                raise CliError(self._unknown(args[0], md), args[0])
        return render.render_router_interfaces(self.model, interfaces)

    def _show_port(self, args: list[Token], md: bool) -> list[str]:
        if not args:
            return render.render_port_summary(self.model, render.ports_matching(self.model, None))
        first = args[0]
        if self._is_keyword(first, "description", md):
            self._no_more_tokens(args[1:], md=md)
            return render.render_port_descriptions(self.model, render.ports_matching(self.model, None))
        if not render.PORT_ID_SYNTAX.match(first.text):
            raise CliError(self._unknown(first, md), first)
        ports = render.ports_matching(self.model, first.text)
        if not ports:
            if md:
                raise CliError(f"MINOR: CLI #2005: Error while processing command - Port {first.text} does not exist")
            raise CliError(f'Error: Invalid port "{first.text}"')
        rest = args[1:]
        if rest:
            option = self._keyword(rest[0], ["description", "detail", "statistics"], md=md)
            self._no_more_tokens(rest[1:], md=md)
            if option == "description":
                return render.render_port_descriptions(self.model, ports)
        exact = self.model.interfaces.get(first.text)
        if exact is not None:
            return render.render_port_detail(self.model, exact)
        return render.render_port_summary(self.model, ports)

    # -- ping ---------------------------------------------------------------------------------------

    def _ping(self, tokens: list[Token], md: bool) -> list[str]:
        if len(tokens) < 2:
            if md:
                raise CliError("MINOR: CLI #2001: Missing element value - 'destination-address'", tokens[0])
            raise CliError("Error: Missing parameter", tokens[0], caret_at_end=True)
        target = tokens[1]
        try:
            address = ipaddress.IPv4Address(target.text)
        except ValueError:
            if md:
                raise CliError(
                    f"MINOR: MGMT_AGENT #2005: Invalid element value - 'destination-address' could not transmit "
                    f'request to resolve "{target.text}"',
                    target,
                ) from None
            raise CliError(CLASSIC_BAD_COMMAND, target) from None
        count = 5
        rest = tokens[2:]
        if rest and rest[0].text == "count" and len(rest) > 1:
            count = self._integer(rest[1], 1, 100000, md=md)
            rest = rest[2:]
        self._no_more_tokens(rest, md=md)
        reachable = any(
            address in ipaddress.IPv4Interface(ri.ipv4).network and render.router_interface_up(self.model, ri)
            for ri in self.model.router_interfaces
        )
        lines = [f"PING {address} 56 data bytes"]
        times = []
        for seq in range(1, count + 1):
            if reachable:
                rtt = 0.6 + stable_fraction(self.model.identity.name, str(address), seq) * 0.9
                times.append(rtt)
                lines.append(f"64 bytes from {address}: icmp_seq={seq} ttl=64 time={rtt:.2f}ms.")
            else:
                lines.append(f"Request timed out. icmp_seq={seq}.")
        lines.append("")
        lines.append(f"---- {address} PING Statistics ----")
        loss = 100.0 * (count - len(times)) / count
        lines.append(f"{count} packets transmitted, {len(times)} packets received, {loss:.2f}% packet loss")
        if times:
            mean = sum(times) / len(times)
            stddev = (sum((t - mean) ** 2 for t in times) / len(times)) ** 0.5
            lines.append(
                f"round-trip min = {min(times):.2f}ms, avg = {mean:.2f}ms, max = {max(times):.2f}ms, "
                f"stddev = {stddev:.3f}ms"
            )
        return lines

    # -- parsing helpers ----------------------------------------------------------------------------

    def _keyword(self, token: Token, options: list[str], md: bool) -> str:
        """MD-CLI wants whole keywords; the classic CLI also takes an unambiguous abbreviation."""
        if token.text in options and not token.quoted:
            return token.text
        if not md and not token.quoted:
            candidates = [option for option in options if option.startswith(token.text)]
            if len(candidates) == 1:
                return candidates[0]
        raise CliError(self._unknown(token, md), token)

    def _is_keyword(self, token: Token, keyword: str, md: bool) -> bool:
        if token.quoted:
            return False
        return token.text == keyword or (not md and len(token.text) >= 3 and keyword.startswith(token.text))

    @staticmethod
    def _unknown(token: Token, md: bool) -> str:
        return f"MINOR: MGMT_CORE #2201: Unknown element - '{token.text}'" if md else CLASSIC_BAD_COMMAND

    def _no_more_tokens(self, rest: list[Token], md: bool = True) -> None:
        if rest:
            raise CliError(self._unknown(rest[0], md), rest[0])

    def _boolean(self, token: Token) -> bool:
        if token.text in ("true", "false"):
            return token.text == "true"
        raise CliError(f"MINOR: MGMT_CORE #2301: Invalid element value - '{token.text}' is not a boolean", token)

    def _integer(self, token: Token, low: int, high: int, md: bool = True) -> int:
        if token.text.isdigit() and low <= int(token.text) <= high:
            return int(token.text)
        if md:
            raise CliError(
                f"MINOR: MGMT_CORE #2301: Invalid element value - '{token.text}' is out of range {low}..{high}", token
            )
        raise CliError(f"Error: Invalid parameter value - valid range is {low} to {high}", token)

    def _port_argument(self, args: list[Token], md: bool = True) -> str:
        token = args[0]
        if not render.PORT_ID_SYNTAX.match(token.text):
            raise CliError(self._unknown(token, md), token)
        if token.text not in self.model.interfaces:
            if md:
                raise CliError(f"MINOR: CLI #2005: Error while processing command - Port {token.text} does not exist")
            raise CliError(f'Error: Invalid port "{token.text}"', token)
        return token.text

    def _split_pipe(self, tokens: list[Token], md: bool) -> tuple[list[Token], OutputFilter]:
        if not any(t.text == "|" and not t.quoted for t in tokens):
            return tokens, OutputFilter()
        cut = next(i for i, t in enumerate(tokens) if t.text == "|" and not t.quoted)
        command, modifier = tokens[:cut], tokens[cut + 1 :]
        if not modifier:
            missing = "MINOR: CLI #2001: Missing element value - '|'" if md else "Error: Missing parameter"
            raise CliError(missing, tokens[cut], caret_at_end=True)
        word = self._keyword(modifier[0], ["match", "count", "no-more"], md=md)
        output_filter = OutputFilter()
        if word == "count":
            output_filter.count = True
            self._no_more_tokens(modifier[1:], md=md)
        elif word == "match":
            if len(modifier) < 2:
                missing = "MINOR: CLI #2001: Missing element value - 'pattern'" if md else "Error: Missing parameter"
                raise CliError(missing, modifier[0], caret_at_end=True)
            flags = 0
            for option in modifier[2:]:
                which = self._keyword(option, ["ignore-case", "invert-match"], md=md)
                if which == "ignore-case":
                    flags |= re.IGNORECASE
                else:
                    output_filter.invert = True
            try:
                output_filter.pattern = re.compile(modifier[1].text, flags)
            except re.error:
                output_filter.pattern = re.compile(re.escape(modifier[1].text), flags)
        else:
            self._no_more_tokens(modifier[1:], md=md)
        return command, output_filter

    def _error_lines(self, error: CliError, line: str, prompt_line: str, md: bool) -> list[str]:
        """A caret line under the offending token (aligned with the echoed command), then the message."""
        lines: list[str] = []
        indent = len(prompt_line)
        if error.token is not None:
            if error.caret_at_end:
                column = error.token.start + error.token.width + 1
                lines.append(" " * (indent + column) + "^")
            elif md:
                lines.append(" " * (indent + error.token.start) + "^" * max(error.token.width, 1))
            else:
                lines.append(" " * (indent + error.token.start) + "^")
        lines.append(error.message)
        return lines
