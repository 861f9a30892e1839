"""One redaction for every file and stream edgeops writes: secrets out, everything else exactly as it was."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeops import redaction
from edgeops.redaction import REDACTED, contains_secret, redact

SECRET = "S3cr3t!x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # SR Linux
        ("set / system aaa authentication user x password abc", "set / system aaa authentication user x password ***"),
        ("set / system aaa user x hashed-password $6$abc", "set / system aaa user x hashed-password ***"),
        (
            "set / network-instance default protocols bgp authentication keychain k1",
            "set / network-instance default protocols bgp authentication keychain k1",
        ),
        (
            "set / system keychain k1 key 1 authentication-key 'a b'",
            "set / system keychain k1 key 1 authentication-key ***",
        ),
        ("set / system tls server-profile p private-key KEYDATA", "set / system tls server-profile p private-key ***"),
        # SR OS MD-CLI and classic
        ('router isis authentication-key "k e y" hash2', "router isis authentication-key *** hash2"),
        (
            'configure router ospf area 0 interface i message-digest-key 1 md5 "x"',
            "configure router ospf area 0 interface i message-digest-key 1 md5 ***",
        ),
        ("configure system snmp-community x rwa version both", "configure system snmp-community *** rwa version both"),
        (
            'configure system security snmp community "pub1" access-permissions r',
            "configure system security snmp community *** access-permissions r",
        ),
        (
            "configure macsec connectivity-association ca1 static-cak active-psk 1 cak abcdef",
            "configure macsec connectivity-association ca1 static-cak active-psk *** cak ***",
        ),
        ("ipsec pre-shared-key 'x'", "ipsec pre-shared-key ***"),
        (
            "configure system security radius server 1 address 10.0.0.1 secret ab12",
            "configure system security radius server 1 address 10.0.0.1 secret ***",
        ),
        # name=value and JSON
        ("login with password=x now", "login with password=*** now"),
        ('{"user": "admin", "password": "x y"}', '{"user": "admin", "password": "***"}'),
        ('{"srl_nokia-aaa:password": "x"}', '{"srl_nokia-aaa:password": "***"}'),
        # left alone
        ("show version", "show version"),
        ("show router bgp routes community 65000:1", "show router bgp routes community 65000:1"),
        ("The host key of alcala-leaf1 changed", "The host key of alcala-leaf1 changed"),
        ("host-key alcala-leaf1 ssh-ed25519", "host-key alcala-leaf1 ssh-ed25519"),
        ("Parsing error: Unknown token 'versio'.", "Parsing error: Unknown token 'versio'."),
        ("show system security password", "show system security password"),
    ],
)
def test_redaction(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_redacted_text_is_redacted_again_unchanged() -> None:
    once = redact(f'password {SECRET} authentication-key "{SECRET}" snmp community {SECRET}')
    assert SECRET not in once and redact(once) == once and once.count(REDACTED) == 3


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_redaction_is_idempotent(text: str) -> None:
    assert redact(redact(text)) == redact(text)


@given(st.from_regex(r"[a-z0-9 /:.\[\]=-]{0,80}", fullmatch=True))
def test_text_without_a_secret_keyword_is_untouched(text: str) -> None:
    words = ("password", "passphrase", "secret", "psk", "-key", "key-string", "cak", "community")
    if not any(word in text for word in words):
        assert redact(text) == text and not contains_secret(text)


def test_a_clean_text_is_read_once_and_a_secret_is_never_remembered() -> None:
    command = "show router 1 interface detail"
    assert redact(command) == command
    assert command in redaction._clean  # the next fan-out's records take it from there
    secret = "configure system security user-params local-user user admin password hunter2"
    assert redact(secret).endswith(f"password {REDACTED}")
    assert redact(secret).endswith(f"password {REDACTED}")  # the second time read again, not remembered
    assert secret not in redaction._clean
    assert all("hunter2" not in text for text in redaction._clean)


# One keyword of each rule, and words that only look like one.
_KEYWORDS = [
    "password", "passphrase", "enable-secret", "psk", "authentication-key", "key-string", "cak", "snmp-community",
    "community-string", "message-digest-key 1 md5", "snmp community", '"password":', "host-key", "pas", "comm",
]  # fmt: skip
# Letters the case-ignoring rules take for ASCII ones: the Kelvin sign for k, the long s for s.
_LOOKALIKES = {"k": "\u212a", "s": "\u017f"}
_CASES = st.sampled_from(["lower", "lower", "upper", "lookalike"])
_AROUND = st.text(alphabet=string.printable, max_size=6) | st.text(max_size=4)


@pytest.mark.parametrize("keyword", _KEYWORDS)
@settings(max_examples=60)
@given(
    cases=st.lists(_CASES, min_size=30, max_size=30),
    separator=st.sampled_from([" ", "=", ": ", " = ", ""]),
    value=st.sampled_from(["hunter2", '"a b"', "'x'", REDACTED, ""]),
    before=_AROUND,
    after=_AROUND,
)
def test_the_shortcut_for_a_clean_text_never_skips_a_secret(
    keyword: str, cases: list[str], separator: str, value: str, before: str, after: str
) -> None:
    """A text the word check calls clean is one the rules leave as it is (they ignore case, Unicode's too)."""
    cases = cases[: len(keyword)]
    cased = "".join(
        _LOOKALIKES.get(char, char) if case == "lookalike" else getattr(char, case)()
        for char, case in zip(keyword, cases, strict=True)
    )
    text = f"{before}{cased}{separator}{value}{after}"
    if not redaction._may_hold_secret(text):
        assert redaction._apply_rules(text) == text
    assert redaction._redact(text) == redaction._apply_rules(text)
