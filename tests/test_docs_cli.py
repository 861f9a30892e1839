"""The docs and the command agree: every subcommand and flag the parser defines is written in docs/, and every
`edgeops ...` command line in docs/ and the README parses (placeholders and synopses name real flags)."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgeops.cli.main import build_parser

ROOT = Path(__file__).parents[1]
DOC_FILES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
CODE_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`(edgeops(?: [^`]*)?)`")
SHELL_BREAKS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>&1", "2>/dev/null"}


def parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)command's parser with the words that reach it."""
    yield path, parser
    for action in parser._actions:  # argparse has no public way to list its subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, (*path, name))


def docs_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in DOC_FILES)


def documented_lines() -> list[tuple[str, str, bool]]:
    """(file, text, in a code block) for every `edgeops` command line or mention in the docs."""
    found = []
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        for block in CODE_BLOCK.findall(text):
            for line in block.splitlines():
                line = line.strip().removeprefix("$ ")
                if line == "edgeops" or line.startswith("edgeops "):
                    found.append((path.name, line, True))
        found.extend((path.name, span, False) for span in INLINE.findall(text))
    return found


def test_every_subcommand_and_flag_is_in_the_docs() -> None:
    text = docs_text()
    missing = []
    for path, parser in parsers(build_parser()):
        if path and f"edgeops {' '.join(path)}" not in text:
            missing.append(f"edgeops {' '.join(path)}")
        for action in parser._actions:
            if action.help == argparse.SUPPRESS:
                continue
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and not re.search(rf"`{re.escape(option)}\b", text):
                    missing.append(f"{' '.join(('edgeops', *path))} {option}")
    assert not missing, "not in docs/ or the README: " + ", ".join(sorted(set(missing)))


def relaxed_parser() -> argparse.ArgumentParser:
    """The real parser with nothing required, so `edgeops run` written alone (naming the command) parses too."""
    parser = build_parser()
    for _, each in parsers(parser):
        for action in each._actions:
            action.required = False
            if not action.option_strings and action.nargs is None:
                action.nargs = "?"
            elif not action.option_strings and action.nargs == "+":
                action.nargs = "*"
    return parser


def parse_error(parser: argparse.ArgumentParser, words: list[str]) -> str:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(words)
    except SystemExit as stop:
        if stop.code:
            return err.getvalue().strip().splitlines()[-1]
    return ""


def synopsis_problems(words: list[str]) -> list[str]:
    """A synopsis (`edgeops run COMMAND --target EXPR [--timeout S]`): its subcommand exists, and so does each flag."""
    tree = dict(parsers(build_parser()))
    path: tuple[str, ...] = ()
    for word in words:
        if (*path, word) in tree:
            path = (*path, word)
        elif not word.startswith(("-", "[")):
            continue
    options = {option for prefix in range(len(path) + 1) for option in tree[path[:prefix]]._option_string_actions}
    flags = {flag.split("=")[0] for word in words for flag in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", word)}
    return [f"{flag} is not an option of edgeops {' '.join(path)}" for flag in sorted(flags - options)]


def test_every_command_line_in_the_docs_parses() -> None:
    lines = documented_lines()
    assert len(lines) > 50  # the docs are read at all
    parser = relaxed_parser()
    problems = []
    for file, line, _ in lines:
        command = re.split(r"\s+#\s", line)[0]
        words = shlex.split(command)[1:]
        if words and words[0].endswith(":"):
            continue  # a message edgeops prints ("edgeops parse: no parser for ..."), not a command line
        if any(mark in command for mark in ("[", "{", "...", "…")) or any(word.isupper() for word in words):
            problems.extend(f"{file}: {line}: {problem}" for problem in synopsis_problems(words))
            continue
        cut = []
        for word in words:
            if word in SHELL_BREAKS or word.startswith((">", "2>", "<(", "$(")):
                break
            cut.append(word)
        error = parse_error(parser, cut)
        if error:
            problems.append(f"{file}: {line}: {error}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("line", ["edgeops run --no-such-flag 'show version' -t all", "edgeops inventory shwo"])
def test_a_line_that_does_not_parse_is_caught(line: str) -> None:
    assert parse_error(relaxed_parser(), shlex.split(line)[1:])


def test_a_synopsis_with_an_unknown_flag_is_caught() -> None:
    assert synopsis_problems(shlex.split("edgeops run COMMAND --target EXPR [--tiemout S]")[1:]) == [
        "--tiemout is not an option of edgeops run"
    ]
