"""The read-only guard: decides, per platform, whether a command line can be sent without changing a device."""

from __future__ import annotations

import shlex
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from edgeops.platforms import Platform

# Why each rule exists, in words a person reads in a refusal (and the docs list).
RULES: Mapping[str, str] = MappingProxyType(
    {
        "read-only": "reads state or configuration without changing anything",
        "guard-lifted": "the read-only guard was lifted for this run; the command is sent as typed",
        "empty": "there is no command to send",
        "control-character": "contains a tab, line break or other control character, which the device would read "
        "as completion, a second command or a key press",
        "unbalanced-quotes": "has an unterminated quote, so where the command ends cannot be told",
        "output-redirect": "redirects output with > or >>, which writes a file on the device",
        "shell-syntax": "contains shell syntax (&, <, $(...), backquotes), which output pipes may hand to a shell",
        "history": "recalls a command from the CLI history with !, which the guard cannot see",
        "output-modifier": "pipes output to something other than the read-only output modifiers",
        "pipe-option": "gives a pipe command an option or a file name that could read or write files on the device, "
        "or make it wait for ever",
        "unbounded": "would run without end or for longer than a command may: ping and monitor need a bound",
        "config-mode": "enters configuration mode (candidate, edit-config, configure)",
        "commit": "commits, validates or discards configuration changes",
        "config-change": "changes configuration (set, delete, insert, replace, load, rollback, copy)",
        "admin": "is an administrative action (reboot, save, software upgrade, system operations)",
        "save": "writes the configuration to storage",
        "file": "is a file operation on the device (copy, move, remove, make directories)",
        "tools": "runs tools, which act on the device (reboot, perform, clear statistics; some dumps reset counters)",
        "clear": "clears counters, logs or protocol state, which changes what everyone else sees",
        "shell": "leaves the CLI for a shell or runs a script of commands, which the guard cannot check",
        "session-end": "ends the CLI session edgeops is using",
        "session-context": "moves the session into another mode or context, where the next commands would run",
        "session-environment": "changes the CLI environment edgeops relies on (prompt, paging, width, aliases); "
        "environment save also writes a file",
        "debug": "turns on debugging on the device, which costs CPU and floods the logs",
        "interactive": "opens an interactive session to another host, which edgeops cannot drive",
        "not-read-only": "is not on the platform's read-only list",
    }
)

# Commands that only read, per platform (the first word of a command).
READ_ONLY_COMMANDS: Mapping[Platform, frozenset[str]] = MappingProxyType(
    {
        Platform.SRLINUX: frozenset(
            {"show", "info", "monitor", "ping", "ping6", "traceroute", "traceroute6", "tree", "pwc"}
        ),
        Platform.SROS: frozenset({"show", "info", "monitor", "ping", "traceroute", "tree", "pwc"}),
        Platform.SROS_CLASSIC: frozenset({"show", "info", "monitor", "ping", "traceroute", "tree", "pwc"}),
    }
)

# The one read-only command under `admin` on SR OS: showing the running configuration.
READ_ONLY_ADMIN: Mapping[Platform, tuple[str, ...]] = MappingProxyType(
    {Platform.SROS: ("show", "configuration"), Platform.SROS_CLASSIC: ("display-config",)}
)

# Output modifiers that only filter or format what the device prints (the first word after a `|`).
READ_ONLY_MODIFIERS: Mapping[Platform, frozenset[str]] = MappingProxyType(
    {
        # `more` is left out: a pager waits for keys, and offers a shell escape.
        Platform.SRLINUX: frozenset({"as", "grep", "filter", "head", "tail", "wc"}),
        Platform.SROS: frozenset({"match", "count", "no-more", "as-json"}),
        Platform.SROS_CLASSIC: frozenset({"match", "count", "no-more"}),
    }
)

# Known commands that change something, mapped to the rule a refusal names. Anything neither here nor on the
# read-only list is refused too (rule not-read-only); this table only makes the message precise.
REFUSED_COMMANDS: Mapping[str, str] = MappingProxyType(
    {
        "configure": "config-mode",
        "edit-config": "config-mode",
        "quit-config": "config-mode",
        "candidate": "config-mode",
        "commit": "commit",
        "discard": "commit",
        "validate": "commit",
        "set": "config-change",
        "delete": "config-change",
        "insert": "config-change",
        "replace": "config-change",
        "load": "config-change",
        "rollback": "config-change",
        "copy": "config-change",
        "annotate": "config-change",
        "no": "config-change",
        "admin": "admin",
        "reboot": "admin",
        "restart": "admin",
        "shutdown": "admin",
        "save": "save",
        "file": "file",
        "tools": "tools",
        "clear": "clear",
        "bash": "shell",
        "shell": "shell",
        "exec": "shell",
        "source": "shell",
        "python": "shell",
        "quit": "session-end",
        "logout": "session-end",
        "exit": "session-end",
        "bye": "session-end",
        "enter": "session-context",
        "back": "session-context",
        "top": "session-context",
        "..": "session-context",
        "/": "session-context",
        "environment": "session-environment",
        "debug": "debug",
        "ssh": "interactive",
        "telnet": "interactive",
    }
)

# SR OS accepts unambiguous abbreviations of keywords (`sh port`); a word this long or longer that starts an
# allowed keyword can only ever resolve to that keyword, or be rejected by the device as ambiguous.
_SROS_MIN_ABBREVIATION = 2
_OPERATOR_CHARACTERS = "|;&<>"
_DOUBLED_OPERATORS = "|&>"
_LIFT_HINT = "lift the guard with --allow-config to send it anyway"

# SR Linux hands `| grep`, `| head`, `| tail` and `| wc` to the Linux tools of the same names. Only these options
# are passed: each only filters or counts the text it is given. Anything else (a file name, -f FILE, -r, --follow,
# --files0-from...) could read the device's files or never end. Value options take the next word.
_PIPE_FLAGS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "grep": frozenset({"-i", "-v", "-c", "-n", "-w", "-x", "-E", "-F", "-o", "-h", "-s", "--color=never"}),
        "head": frozenset(),
        "tail": frozenset(),
        "wc": frozenset({"-l", "-w", "-c", "-m"}),
    }
)
_PIPE_VALUE_OPTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "grep": frozenset({"-e", "-A", "-B", "-C", "-m"}),
        "head": frozenset({"-n", "-c"}),
        "tail": frozenset({"-n", "-c"}),
    }
)
# How many positional words each takes: grep its pattern (unless -e gave it), the others none (a word is a file).
_PIPE_POSITIONALS = MappingProxyType({"grep": 1, "head": 0, "tail": 0, "wc": 0})
# ping: at most this many probes, no faster than this interval; monitor: at most this long (SR OS repeat x interval).
MAX_PING_COUNT = 100
MIN_PING_INTERVAL_S = 0.2
MAX_MONITOR_S = 300


@dataclass(frozen=True)
class GuardVerdict:
    """Whether a command may be sent, the rule that decided, and a message a person can act on."""

    allowed: bool
    rule: str
    message: str


def check(command: str, platform: Platform, *, allow_config: bool = False) -> GuardVerdict:
    """Decide whether `command` may be sent to a device of `platform`.

    By default only commands that cannot change the device are allowed. With allow_config=True every command
    is allowed and the verdict (rule "guard-lifted") says so; empty lines and control characters are refused
    even then, because they are about how a line is sent, not what it does.
    """
    platform = Platform(platform)
    line = command.strip(" ")
    if not line.strip():
        return _refuse("empty", "nothing to send: the command is empty")
    bad = next((char for char in line if _is_control(char)), None)
    if bad is not None:
        return _refuse(
            "control-character", f"{command!r} {RULES['control-character']} ({unicodedata.name(bad, repr(bad))})"
        )
    verdict = _check_line(line, platform)
    if not allow_config:
        return verdict
    note = "" if verdict.allowed else f" (it would otherwise be refused: rule {verdict.rule})"
    return GuardVerdict(True, "guard-lifted", f"read-only guard lifted: {line!r} is sent as typed{note}")


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def _refuse(rule: str, message: str) -> GuardVerdict:
    return GuardVerdict(False, rule, message)


def _refusal(rule: str, text: str, platform: Platform, detail: str = "") -> GuardVerdict:
    reason = detail or RULES[rule]
    return _refuse(
        rule, f"refused by the read-only guard (rule {rule}, {platform.label}): {text!r} {reason}; {_LIFT_HINT}"
    )


def _check_line(line: str, platform: Platform) -> GuardVerdict:
    if "$(" in line or "`" in line:
        return _refusal("shell-syntax", line, platform)
    # The guard must not read quotes more generously than the device: every plausible reading must pass.
    verdict: GuardVerdict | None = None
    readings = []
    for quote_characters, backslash_escapes in _readings(platform):
        tokens = _lex(line, quote_characters, backslash_escapes)
        if tokens is None:
            return _refusal("unbalanced-quotes", line, platform)
        verdict = _check_tokens(line, tokens, platform)
        if not verdict.allowed:
            return verdict
        readings.append(tokens)
    assert verdict is not None
    # What a command would do once it runs (how long, which files its pipes touch), after how it reads is settled.
    return _check_tokens(line, readings[0], platform, bounds=True) if verdict.allowed else verdict


def _readings(platform: Platform) -> Iterator[tuple[str, bool]]:
    """How the device might read quotes: SR Linux takes both quote characters, SR OS double quotes only;
    whether a backslash escapes the next character is not something to rely on, so both ways are checked."""
    quotes = "\"'" if platform is Platform.SRLINUX else '"'
    yield quotes, False
    yield quotes, True


_Token = tuple[str, str]  # ("text", segment) or ("op", operator)


def _lex(line: str, quote_characters: str, backslash_escapes: bool) -> list[_Token] | None:
    """Split a line at the operators outside quotes; None when a quote is left open."""
    tokens: list[_Token] = []
    buffer: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(line):
        char = line[index]
        if backslash_escapes and char == "\\" and index + 1 < len(line):
            buffer.append(line[index : index + 2])
            index += 2
            continue
        if quote is not None:
            if char == quote:
                quote = None
            buffer.append(char)
        elif char in quote_characters:
            quote = char
            buffer.append(char)
        elif char in _OPERATOR_CHARACTERS:
            doubled = char in _DOUBLED_OPERATORS and line[index + 1 : index + 2] == char
            operator = char * 2 if doubled else char
            tokens.append(("text", "".join(buffer)))
            tokens.append(("op", operator))
            buffer = []
            index += len(operator)
            continue
        else:
            buffer.append(char)
        index += 1
    if quote is not None:
        return None
    tokens.append(("text", "".join(buffer)))
    return tokens


def _check_tokens(line: str, tokens: list[_Token], platform: Platform, *, bounds: bool = False) -> GuardVerdict:
    operators = [text for kind, text in tokens if kind == "op"]
    if any(operator in (">", ">>") for operator in operators):
        return _refusal("output-redirect", line, platform)
    if any(operator in ("&", "&&", "||", "<") for operator in operators):
        return _refusal("shell-syntax", line, platform)
    # Several commands on one line (`;`) are each checked on their own.
    commands: list[list[str]] = [[]]
    for kind, text in tokens:
        if kind == "op" and text == ";":
            commands.append([])
        elif kind == "text":
            commands[-1].append(text)
    commands = [segments for segments in commands if any(segment.strip() for segment in segments)]
    if not commands:
        return _refuse("empty", "nothing to send: the command is empty")
    verdict = GuardVerdict(True, "read-only", "")
    for number, segments in enumerate(commands, start=1):
        verdict = _check_command(segments, platform, bounds=bounds)
        if not verdict.allowed:
            if len(commands) > 1:
                where = f" (command {number} of {len(commands)} on the line)"
                return GuardVerdict(False, verdict.rule, verdict.message + where)
            return verdict
    if len(commands) > 1:
        return GuardVerdict(True, "read-only", f"read-only on {platform.label}: all {len(commands)} commands")
    return verdict


def _words(segment: str) -> list[str]:
    """The words of a segment, split at spaces, each lower-cased and without surrounding quotes."""
    return [word.strip("\"'").casefold() for word in segment.split(" ") if word]


def _check_command(segments: list[str], platform: Platform, *, bounds: bool = False) -> GuardVerdict:
    """One command: segments[0] is the command, the rest are output modifiers (text after each `|`)."""
    head = segments[0].strip()
    words = _words(head)
    if not words:
        return _refusal("output-modifier", " | ".join(segment.strip() for segment in segments), platform)
    if platform.is_sros and words[0].startswith("//"):
        # `//command` runs one command in the other CLI engine (MD-CLI <-> classic): check it by that one's rules.
        platform = Platform.SROS_CLASSIC if platform is Platform.SROS else Platform.SROS
        remainder = words[0][2:]
        words = [remainder, *words[1:]] if remainder else words[1:]
        if not words:
            return _refuse("empty", "nothing to send after //")
    elif platform.is_sros and words[0].startswith("/") and words[0] != "/":
        words = [words[0][1:], *words[1:]]  # an absolute path from the root: `/show port` is `show port`
    elif platform is Platform.SRLINUX and words[0].startswith("/"):
        return _refusal("session-context", head, platform)
    if any(word.startswith("!") for segment in segments for word in segment.split(" ")):
        return _refusal("history", head, platform)
    verdict = _check_words(head, words, platform)
    if not verdict.allowed:
        return verdict
    for modifier in segments[1:]:
        modifier_words = _words(modifier)
        allowed = READ_ONLY_MODIFIERS[platform]
        if not modifier_words or _resolve(modifier_words[0], allowed, platform) is None:
            shown = modifier.strip() or "(nothing)"
            return _refusal(
                "output-modifier",
                f"| {shown}",
                platform,
                f"is not a read-only output modifier (allowed: {', '.join(sorted(allowed))})",
            )
        if bounds and platform is Platform.SRLINUX and modifier_words[0] in _PIPE_FLAGS:
            problem = _pipe_option_problem(_shell_words(modifier))
            if problem:
                return _refusal("pipe-option", f"| {modifier.strip()}", platform, f"{RULES['pipe-option']}: {problem}")
    bound = _unbounded(words, platform) if bounds else ""
    if bound:
        return _refusal("unbounded", head, platform, bound)
    return verdict


def _shell_words(text: str) -> list[str]:
    """The words a shell would pass (quotes joined and removed); plain splitting if the quotes do not parse."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _pipe_option_problem(words: list[str]) -> str:
    """What is wrong with the options of a Linux pipe command on SR Linux, or "" when it only filters text."""
    tool, arguments = words[0], words[1:]
    flags, value_options = _PIPE_FLAGS[tool], _PIPE_VALUE_OPTIONS.get(tool, frozenset())
    positionals = 0
    expects_value = False
    pattern_given = False
    for word in arguments:
        if expects_value:
            expects_value = False
            continue
        if word in value_options:
            expects_value = True
            pattern_given = pattern_given or word == "-e"
            continue
        if word.startswith("-") and len(word) > 1:
            if word in flags or (tool in ("head", "tail") and word[1:].isdigit()):
                continue
            return f"{word} is not an option edgeops passes to {tool}"
        positionals += 1
    allowed = _PIPE_POSITIONALS[tool] - (1 if pattern_given else 0)
    if positionals > allowed:
        return f"{tool} is given a file name (only {'a pattern' if allowed else 'options'} may follow it)"
    return ""


def _number_after(words: list[str], *names: str) -> float | None:
    """The number after the first of `names` in words (`count 5`, `-c 5`, `-c5`), or None."""
    for index, word in enumerate(words):
        for name in names:
            value = word[len(name) :] if word.startswith(name) and name.startswith("-") and word != name else None
            if word == name and index + 1 < len(words):
                value = words[index + 1]
            if value is not None:
                try:
                    return float(value)
                except ValueError:
                    return None
    return None


def _unbounded(words: list[str], platform: Platform) -> str:
    """Why a ping or monitor would run too long (or flood), or "" when it is bounded."""
    verb = words[0]
    if platform is Platform.SRLINUX and verb in ("ping", "ping6"):
        if "-f" in words:
            return "a flood ping (-f) is not read-only work"
        count = _number_after(words, "-c")
        if count is None:
            return f"SR Linux ping runs until it is interrupted: give it a count, e.g. -c 5 (at most {MAX_PING_COUNT})"
        if count > MAX_PING_COUNT:
            return f"at most {MAX_PING_COUNT} probes (-c {count:g})"
        interval = _number_after(words, "-i")
        if interval is not None and interval < MIN_PING_INTERVAL_S:
            return f"probes at most every {MIN_PING_INTERVAL_S:g} s (-i {interval:g})"
        return ""
    if platform.is_sros and _resolve(verb, frozenset({"ping"}), platform):
        count = _number_after(words, "count")
        if count is not None and count > MAX_PING_COUNT:
            return f"at most {MAX_PING_COUNT} probes (count {count:g})"
        interval = _number_after(words, "interval")
        if interval is not None and interval < MIN_PING_INTERVAL_S:
            return f"probes at most every {MIN_PING_INTERVAL_S:g} s (interval {interval:g})"
        return ""
    if platform.is_sros and _resolve(verb, frozenset({"monitor"}), platform):
        # SR OS monitors repeat 10 times every 10 s unless told otherwise.
        repeat = _number_after(words, "repeat") or 10
        interval = _number_after(words, "interval") or 10
        if repeat * interval > MAX_MONITOR_S:
            return f"runs {repeat * interval:g} s (repeat x interval); at most {MAX_MONITOR_S} s"
    return ""


def _check_words(text: str, words: list[str], platform: Platform) -> GuardVerdict:
    verb = _resolve(words[0], READ_ONLY_COMMANDS[platform], platform)
    if verb is not None:
        return GuardVerdict(True, "read-only", f"read-only on {platform.label}: {verb}")
    if _resolve(words[0], frozenset({"admin"}), platform) and platform in READ_ONLY_ADMIN:
        expected = READ_ONLY_ADMIN[platform]
        given = words[1 : 1 + len(expected)]
        if len(given) == len(expected) and all(
            _resolve(word, frozenset({keyword}), platform) for word, keyword in zip(given, expected, strict=True)
        ):
            return GuardVerdict(True, "read-only", f"read-only on {platform.label}: admin {' '.join(expected)}")
        return _refusal("admin", text, platform, f"{RULES['admin']}; only admin {' '.join(expected)} is read-only")
    if words[0] == "enter" and len(words) > 1 and words[1] == "candidate":
        return _refusal("config-mode", text, platform)
    rule = _refusal_rule(words[0], platform)
    if rule != "not-read-only":
        return _refusal(rule, text, platform)
    allowed = ", ".join(sorted(READ_ONLY_COMMANDS[platform]))
    return _refusal(rule, text, platform, f"{RULES[rule]} ({allowed})")


def _resolve(word: str, keywords: frozenset[str], platform: Platform) -> str | None:
    """The keyword `word` stands for: itself, or on SR OS an abbreviation of exactly one keyword."""
    if word in keywords:
        return word
    if not platform.is_sros or len(word) < _SROS_MIN_ABBREVIATION:
        return None
    candidates = sorted(keyword for keyword in keywords if keyword.startswith(word))
    # Several allowed candidates (`tr`: traceroute, tree) are fine: the device runs one of them or refuses.
    return candidates[0] if candidates else None


def _refusal_rule(word: str, platform: Platform) -> str:
    if word in REFUSED_COMMANDS:
        return REFUSED_COMMANDS[word]
    if platform.is_sros and len(word) >= _SROS_MIN_ABBREVIATION:
        for command, rule in REFUSED_COMMANDS.items():
            if command.startswith(word):
                return rule
    return "not-read-only"
