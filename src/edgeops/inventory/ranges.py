"""Brace ranges that let one device entry stand for many: `leaf{01..08}` with `127.10.1.{1..8}`."""

from __future__ import annotations

import re

MAX_RANGE = 4096  # a typo like {1..100000} should be an error, not a hang

_BRACES = re.compile(r"\{([^{}]*)\}")
_NUMBERS = re.compile(r"^(\d+)\.\.(\d+)(?:\.\.(\d+))?$")
_LETTERS = re.compile(r"^([A-Za-z])\.\.([A-Za-z])$")


class RangeError(ValueError):
    """A brace expression that cannot be expanded; the message says what to write instead."""


def has_range(text: str) -> bool:
    return "{" in text or "}" in text


def expand_range(text: str) -> list[str]:
    """All values `text` stands for, in order; a text without braces stands for itself.

    `{1..8}` counts (zero-padded when a bound is written with a leading zero: `{01..08}`),
    `{1..9..2}` counts in steps, `{a..d}` walks letters, `{x,y,z}` lists alternatives.
    Only one brace expression per value: values of one entry expand in step, not as a product.
    """
    matches = list(_BRACES.finditer(text))
    if not matches:
        if has_range(text):
            raise RangeError(f"unbalanced brace in '{text}'")
        return [text]
    if len(matches) > 1:
        raise RangeError(f"'{text}' has {len(matches)} ranges; write one range per value")
    match = matches[0]
    prefix, suffix = text[: match.start()], text[match.end() :]
    if has_range(prefix) or has_range(suffix):
        raise RangeError(f"unbalanced brace in '{text}'")
    return [f"{prefix}{item}{suffix}" for item in _range_items(match.group(1))]


def _range_items(body: str) -> list[str]:
    numbers = _NUMBERS.match(body)
    if numbers:
        first_text, last_text, step_text = numbers.groups()
        first, last = int(first_text), int(last_text)
        step = int(step_text) if step_text else 1
        if step == 0:
            raise RangeError(f"'{{{body}}}' has a step of 0")
        count = abs(last - first) // step + 1
        _check_size(body, count)
        padded = any(len(bound) > 1 and bound.startswith("0") for bound in (first_text, last_text))
        width = max(len(first_text), len(last_text)) if padded else 0
        direction = step if last >= first else -step
        return [str(value).zfill(width) for value in range(first, last + (1 if direction > 0 else -1), direction)]
    letters = _LETTERS.match(body)
    if letters:
        first_letter, last_letter = letters.groups()
        if first_letter.isupper() != last_letter.isupper():
            raise RangeError(f"'{{{body}}}' mixes upper and lower case")
        start, stop = ord(first_letter), ord(last_letter)
        direction = 1 if stop >= start else -1
        return [chr(code) for code in range(start, stop + direction, direction)]
    if "," in body:
        items = [item.strip() for item in body.split(",")]
        _check_size(body, len(items))
        return items
    raise RangeError(f"'{{{body}}}' is not a range; write {{1..8}}, {{01..08}}, {{a..d}} or {{x,y,z}}")


def _check_size(body: str, count: int) -> None:
    if count > MAX_RANGE:
        raise RangeError(f"'{{{body}}}' stands for {count} values; at most {MAX_RANGE} per entry")
