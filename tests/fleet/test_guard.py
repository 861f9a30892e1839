"""The read-only guard: every refused class refused on each platform, every read-only form allowed."""

from __future__ import annotations

import pytest

from edgeops.fleet.guard import RULES, check
from edgeops.platforms import Platform

SRL, SROS, CLASSIC = Platform.SRLINUX, Platform.SROS, Platform.SROS_CLASSIC

ALLOWED = [
    # SR Linux
    (SRL, "show version"),
    (SRL, "show interface | as json"),
    (SRL, "show interface brief | as table"),
    (SRL, "show version | as yaml"),
    (SRL, "show version | grep Software"),
    (SRL, "show interface | filter fields oper-state"),
    (SRL, "show interface | grep ethernet | head -n 5"),
    (SRL, "show interface | grep -i -A 2 -e 'oper-state down' | tail -n 20 | wc -l"),
    (SRL, "show version | head -5"),
    (SROS, "ping 10.0.0.1"),  # SR OS sends 5 probes unless told otherwise
    (SROS, "monitor port 1/1/c1/1 repeat 5 interval 30"),
    (SRL, "info"),
    (SRL, "info flat"),
    (SRL, "info from running /system"),
    (SRL, "info from state /interface ethernet-1/1 statistics | as json"),
    (SRL, "monitor interface ethernet-1/1"),
    (SRL, "ping 10.0.0.1 network-instance default -c 3"),
    (SRL, "traceroute 10.0.0.1 network-instance default"),
    (SRL, "tree"),
    (SRL, "pwc"),
    (SRL, "  show   version  "),
    (SRL, "SHOW VERSION"),
    (SRL, 'show version | grep "a > b"'),
    (SRL, "show version | grep 'a|b;c'"),
    (SRL, "show version; show interface brief"),
    (SRL, "show version;"),
    # SR OS MD-CLI
    (SROS, "show port"),
    (SROS, "show port | match Up"),
    (SROS, "show router interface | count"),
    (SROS, "show port | no-more"),
    (SROS, "sh port"),
    (SROS, "sho router int"),
    (SROS, "/show port"),
    (SROS, "info"),
    (SROS, "admin show configuration"),
    (SROS, "admin show configuration | match port"),
    (SROS, "adm sh conf"),
    (SROS, "monitor port 1/1/c1/1 rate"),
    (SROS, "ping 10.0.0.1 count 3"),
    (SROS, "traceroute 10.0.0.1"),
    (SROS, "tree"),
    (SROS, "pwc"),
    (SROS, 'show port | match "a > b"'),
    (SROS, "show port 1/1/c1/1; show router interface"),
    (SROS, "//show port"),
    (SROS, "// show port | match Up"),
    # SR OS classic CLI
    (CLASSIC, "show port"),
    (CLASSIC, "show port | match Up"),
    (CLASSIC, "admin display-config"),
    (CLASSIC, "sh system cpu"),
    (CLASSIC, "//show port"),
    (CLASSIC, "//admin show configuration"),
]


@pytest.mark.parametrize(("platform", "command"), ALLOWED)
def test_read_only_commands_are_allowed(platform, command):
    verdict = check(command, platform)
    assert verdict.allowed, verdict.message
    assert verdict.rule == "read-only"


# Every refused class, on SR Linux and on SR OS (and the classic CLI where the class exists there).
REFUSED = [
    ("config-mode", SRL, "enter candidate"),
    ("config-mode", SRL, "enter candidate private"),
    ("config-mode", SROS, "edit-config exclusive"),
    ("config-mode", SROS, "configure private"),
    ("config-mode", CLASSIC, "configure port 1/1/1 shutdown"),
    ("config-mode", CLASSIC, "conf port 1/1/1 shut"),
    ("commit", SRL, "commit now"),
    ("commit", SRL, "discard now"),
    ("commit", SROS, "commit"),
    ("commit", SROS, "validate"),
    ("config-change", SRL, "set / interface ethernet-1/1 admin-state disable"),
    ("config-change", SRL, "delete / interface ethernet-1/1"),
    ("config-change", SROS, "delete configure port 1/1/c1/1"),
    ("config-change", SROS, "rollback 1"),
    ("admin", SRL, "admin reboot"),
    ("admin", SROS, "admin reboot now"),
    ("admin", SROS, "admin save"),
    ("admin", SROS, "admin show"),
    ("admin", CLASSIC, "admin reboot now"),
    ("admin", CLASSIC, "admin save"),
    ("save", SRL, "save startup"),
    ("save", SROS, "save"),
    ("file", SRL, "file copy a b"),
    ("file", SROS, "file remove cf3:/config.cfg"),
    ("file", CLASSIC, "file copy cf3:/a cf3:/b"),
    ("tools", SRL, "tools system reboot"),
    ("tools", SRL, "tools interface ethernet-1/1 statistics clear"),
    ("tools", SROS, "tools perform router mpls resignal"),
    ("tools", SROS, "tools dump router segment-routing"),
    ("tools", CLASSIC, "tools perform log test-event"),
    ("clear", SRL, "clear interface ethernet-1/1 statistics"),
    ("clear", SROS, "clear port 1/1/c1/1 statistics"),
    ("clear", CLASSIC, "clear router bgp neighbor all"),
    ("shell", SRL, "bash"),
    ("shell", SRL, "bash ls /"),
    ("shell", SRL, "source /home/admin/cmds"),
    ("shell", SROS, "exec cf3:/script.txt"),
    ("shell", CLASSIC, "exec cf3:/script.txt"),
    ("session-end", SRL, "quit"),
    ("session-end", SRL, "logout"),
    ("session-end", SROS, "logout"),
    ("session-end", SROS, "quit"),
    ("session-end", CLASSIC, "exit all"),
    ("session-context", SRL, "enter running"),
    ("session-context", SRL, "/interface ethernet-1/1"),
    ("session-context", SRL, "back"),
    ("session-context", SROS, "top"),
    ("session-context", SROS, "back"),
    ("session-environment", SRL, "environment cli-engine type advanced"),
    ("session-environment", SRL, "environment save home"),
    ("session-environment", SROS, "environment more true"),
    ("session-environment", CLASSIC, "environment more"),
    ("debug", SRL, "debug"),
    ("debug", SROS, "debug router ospf packet"),
    ("interactive", SRL, "ssh 10.0.0.2"),
    ("interactive", SROS, "telnet 10.0.0.2"),
    ("output-redirect", SRL, "show version > /tmp/v"),
    ("output-redirect", SRL, "show version >> /tmp/v"),
    ("output-redirect", SRL, "info from state / >/tmp/all"),
    ("output-redirect", SRL, "show interface | as json > /tmp/x"),
    ("output-redirect", SROS, "show port > cf3:/ports.txt"),
    ("output-redirect", SROS, "show port >>cf3:/ports.txt"),
    ("output-redirect", CLASSIC, "show port > cf3:/ports.txt"),
    # SR OS might not take single quotes as quotes: the > could be live, so it counts.
    ("output-redirect", SROS, "show port | match 'a > b'"),
    # If the device reads \" as an escaped quote, the > is outside any string.
    ("output-redirect", SRL, 'show version | grep \\"x > y\\"'),
    ("output-modifier", SRL, "show version | tee /tmp/x"),
    ("output-modifier", SRL, "show version | sort -o /tmp/x"),
    ("output-modifier", SRL, "show version |"),
    ("output-modifier", SROS, "show port | tee x"),
    ("output-modifier", SROS, "show port | file cf3:/x"),
    ("output-modifier", CLASSIC, "show port | bash"),
    ("output-modifier", SRL, "| grep x"),
    ("output-modifier", SRL, "show interface | more"),  # a pager waits for keys and has a shell escape
    # SR Linux hands these pipes to Linux tools: only options that filter text pass.
    ("pipe-option", SRL, "show version | grep -r secret /etc"),
    ("pipe-option", SRL, "show version | grep x /etc/shadow"),
    ("pipe-option", SRL, "show version | grep -f /etc/passwd"),
    ("pipe-option", SRL, "show version | head /etc/shadow"),
    ("pipe-option", SRL, "show version | tail -f"),
    ("pipe-option", SRL, "show version | wc --files0-from=/etc/x"),
    ("pipe-option", SRL, "show version | grep --output=/tmp/x y"),
    # ping and monitor need a bound
    ("unbounded", SRL, "ping 10.0.0.1 network-instance default"),
    ("unbounded", SRL, "ping 10.0.0.1 -c 100000"),
    ("unbounded", SRL, "ping 10.0.0.1 -c 5 -i 0.001"),
    ("unbounded", SRL, "ping -f 10.0.0.1 -c 5"),
    ("unbounded", SROS, "ping 10.0.0.1 count 100000"),
    ("unbounded", SROS, "ping 10.0.0.1 rapid interval 0.01"),
    ("unbounded", SROS, "monitor port 1/1/c1/1 repeat 999 interval 60"),
    ("unbounded", CLASSIC, "monitor port 1/1/1 repeat 999"),
    ("shell-syntax", SRL, "show version | grep $(reboot)"),
    ("shell-syntax", SRL, "show version | grep `id`"),
    ("shell-syntax", SRL, "show version && commit now"),
    ("shell-syntax", SRL, "show version || bash"),
    ("shell-syntax", SRL, "show version & "),
    ("shell-syntax", SROS, "show port < cf3:/x"),
    ("shell-syntax", SROS, "show port && admin save"),
    ("history", SRL, "!!"),
    ("history", SROS, "!3"),
    ("history", SROS, "show port !sh"),
    ("control-character", SRL, "show version\ncommit now"),
    ("control-character", SROS, "show port\radmin save"),
    ("control-character", SRL, "show\tversion"),
    ("control-character", SROS, "show port\x03"),
    ("control-character", SRL, "show version\u2028commit now"),
    ("unbalanced-quotes", SRL, 'show interface description "eth'),
    ("unbalanced-quotes", SROS, 'show port | match "Up'),
    ("not-read-only", SRL, "foo"),
    ("not-read-only", SROS, "oam lsp-ping prefix 10.0.0.1/32"),
    ("not-read-only", CLASSIC, "password"),
    ("empty", SRL, ""),
    ("empty", SROS, "   "),
    ("empty", SRL, ";"),
    # Several commands on a line: each one is checked.
    ("commit", SRL, "show version; commit now"),
    ("admin", SROS, "show port; admin save"),
    ("config-change", SRL, "show version;delete / interface ethernet-1/1"),
    # `//` runs one command in the other CLI engine, checked by that engine's rules.
    ("admin", SROS, "//admin save"),
    ("config-mode", SROS, "//configure port 1/1/1 shutdown"),
    ("config-mode", CLASSIC, "//edit-config private"),
    ("config-mode", SROS, "/configure port 1/1/c1/1 admin-state disable"),
    # Abbreviations on SR OS name the command they stand for.
    ("admin", SROS, "adm reboot now"),
    ("clear", CLASSIC, "cle port 1/1/1 statistics"),
]


@pytest.mark.parametrize(("rule", "platform", "command"), REFUSED)
def test_commands_that_could_change_a_device_are_refused(rule, platform, command):
    verdict = check(command, platform)
    assert not verdict.allowed, f"{command!r} was allowed on {platform}"
    assert verdict.rule == rule, verdict.message
    assert rule in RULES


def test_every_refusal_rule_is_exercised_on_both_platforms():
    exercised = {(rule, platform) for rule, platform, _ in REFUSED}
    for rule in RULES:
        if rule in ("read-only", "guard-lifted"):
            continue
        assert (rule, SRL) in exercised, f"rule {rule} has no SR Linux case"
        if rule == "pipe-option":  # SR OS pipes are its own match and count, not Linux tools: nothing to refuse
            continue
        assert (rule, SROS) in exercised or (rule, CLASSIC) in exercised, f"rule {rule} has no SR OS case"


def test_refusal_message_names_the_rule_the_platform_and_the_way_out():
    verdict = check("commit now", SRL)
    assert "rule commit" in verdict.message
    assert "SR Linux" in verdict.message
    assert "'commit now'" in verdict.message
    assert "--allow-config" in verdict.message
    assert "command 2 of 2" in check("show version; commit now", SRL).message
    assert "show, " in check("foo", SROS).message  # not-read-only lists what is allowed


@pytest.mark.parametrize(
    ("rule", "platform", "command"),
    [case for case in REFUSED if case[0] not in ("control-character", "empty")],
)
def test_allow_config_lifts_the_guard_and_says_so(rule, platform, command):
    verdict = check(command, platform, allow_config=True)
    assert verdict.allowed
    assert verdict.rule == "guard-lifted"
    assert f"rule {rule}" in verdict.message


def test_allow_config_on_a_read_only_command_still_reports_the_lift():
    verdict = check("show version", SRL, allow_config=True)
    assert verdict.allowed and verdict.rule == "guard-lifted"


@pytest.mark.parametrize("command", ["", "show version\ncommit now", "show\tversion"])
def test_how_a_line_is_sent_is_checked_even_when_lifted(command):
    assert not check(command, SRL, allow_config=True).allowed


def test_platform_may_be_given_by_name():
    assert check("show version", "srlinux").allowed  # type: ignore[arg-type]
    assert not check("admin save", "sros").allowed  # type: ignore[arg-type]
