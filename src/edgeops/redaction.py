"""Secrets taken out of text before it is written anywhere: the log file, the audit log, `--json`, `--out`, history.

One set of rules for every place, so that a command which sets a password shows `password ***` wherever it is
written, and text that only looks like it (`The host key of alcala-leaf1 changed`) is left as it is. The rules cover
the secret-bearing configuration of both platforms:

- SR OS (MD-CLI and classic): `password`, `authentication-key`, `message-digest-key N md5 KEY`, `pre-shared-key`,
  `secret` (RADIUS, TACACS+), SNMP `community` and classic `snmp-community`, MACsec `cak`, `hash`/`hash2` values
  only as they follow a secret, and `key` only where a secret keyword says so;
- SR Linux: `password`, `hashed-password`, `authentication-key`, `private-key`, `secret`, `psk`, SNMP `community`
  (in an SNMP context), `key-string`;
- the `name=value` and `name: value` forms (`password=x`, `"password": "x"`), as URLs and JSON carry them.

Only the standard library: the bottom layer, usable by every other.
"""

from __future__ import annotations

import re

REDACTED = "***"
# Short texts found to hold no secret (commands, reasons, log lines) are remembered, so that the same command redacted
# for every device of a fan-out, several times each, is read once. A text that held one is never kept.
_CLEAN_LENGTH = 512
_CLEAN_KEPT = 1024
_clean: set[str] = set()

# A quoted value, or one word.
_VALUE = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"',;}\]]+)"""

# Keywords whose next word is a secret on either platform (whole words, case ignored): any word ending in password,
# passphrase, secret or psk; any compound ending in -key (authentication-key, pre-shared-key, private-key...) but the
# public ones; and a few that say so otherwise.
_SECRET_KEYWORD = r"""(?:
    [\w-]*(?:password|passphrase|secret|psk)
    | (?!(?:host|public|ssh-host|message-digest)-key\b)[\w-]+-key
    | key-string | cak | snmp-community | community-string
)"""
_KEYWORD = re.compile(
    rf"""(?ix)
    (?<![\w-])
    (?P<keyword>{_SECRET_KEYWORD})
    (?![\w-])
    (?P<separator>\s*[=:]\s*|\s+)
    (?P<value>{_VALUE})
    """
)
# `message-digest-key 1 md5 "x"` (OSPF, classic and MD-CLI): the secret is the word after the algorithm.
_MESSAGE_DIGEST = re.compile(rf"""(?ix)(?<![\w-])(message-digest-key\s+\d+\s+md5\s+)({_VALUE})""")
# JSON members: "password": "x" (the keyword quoted).
_JSON_MEMBER = re.compile(
    rf"""(?ix)(?P<head>"(?:[\w-]*:)?{_SECRET_KEYWORD}"\s*:\s*)(?P<value>"(?:[^"\\]|\\.)*"|[^\s,}}]+)"""
)
# SNMP communities: "community" alone is also a BGP show argument (`show router bgp routes community 65000:1`),
# so it is a secret only in an SNMP context.
_SNMP_COMMUNITY = re.compile(rf"""(?ix)(?<![\w-])(community\s+)({_VALUE})""")
# Every rule above needs one of these words (case ignored) to match: a text without any holds no secret. Most text
# written (device output, log lines) has none, and looking for them is 30 times cheaper than the rules.
_SECRET_WORDS = ("pass", "secret", "psk", "key", "cak", "communit")


def redact(text: str) -> str:
    """The text with every secret value replaced by ***; everything else exactly as it was."""
    if not text or text in _clean:
        return text
    redacted = _redact(text)
    if redacted == text and len(text) <= _CLEAN_LENGTH:
        if len(_clean) >= _CLEAN_KEPT:
            _clean.clear()
        _clean.add(text)
    return redacted


def _may_hold_secret(text: str) -> bool:
    # Only for ASCII: case-ignoring rules also match a few other letters (the Kelvin sign is a `k` to them).
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _redact(text: str) -> str:
    return _apply_rules(text) if _may_hold_secret(text) else text


def _apply_rules(text: str) -> str:
    text = _JSON_MEMBER.sub(lambda match: f"{match['head']}{_masked(match['value'])}", text)
    text = _MESSAGE_DIGEST.sub(lambda match: f"{match[1]}{REDACTED}", text)
    text = _KEYWORD.sub(_keyword_value, text)
    if "snmp" in text.casefold():
        text = _SNMP_COMMUNITY.sub(lambda match: f"{match[1]}{REDACTED}", text)
    return text


def _keyword_value(match: re.Match[str]) -> str:
    value = match["value"]
    if value == REDACTED or value.strip("\"'") == REDACTED:
        return match[0]
    return f"{match['keyword']}{match['separator']}{REDACTED}"


def _masked(value: str) -> str:
    return f'"{REDACTED}"' if value.startswith('"') else REDACTED


def contains_secret(text: str) -> bool:
    """Whether redact() would change the text (a command that carries a secret is kept out of history)."""
    return redact(text) != text
