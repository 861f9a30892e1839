"""Host key checking: known_hosts parsing and matching, accept-new and strict, mismatches, safe appends; and the
same rules against the lab's SSH servers over real sockets."""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import hmac
import random
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from edgeops.devices.errors import HostKeyMismatch, HostKeyUnknown
from edgeops.devices.hostkeys import (
    GLOBAL_KNOWN_HOSTS,
    HostKeyEvent,
    HostKeyPolicy,
    HostKeyVerdict,
    KnownHosts,
    fingerprint,
    host_entry,
)
from edgeops.devices.samples import Failure, SessionState
from edgeops.devices.ssh import SshSession, SshTarget
from edgeops.inventory.model import Credentials, Device, Inventory
from edgeops.inventory.ssh_config import HostKeyConfig, ssh_settings_for
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites
from edgeops.platforms import Platform


def new_key(algorithm: str = "ssh-ed25519") -> asyncssh.SSHKey:
    return asyncssh.generate_private_key(algorithm).convert_to_public()


def key_text(key: asyncssh.SSHKey) -> str:
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


def hashed_name(name: str, salt: bytes = b"0123456789abcdef0123") -> str:
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


# -- naming and fingerprints ----------------------------------------------------------------------------------


def test_host_entry_brackets_non_default_ports_like_openssh() -> None:
    assert host_entry("10.0.0.1", 22) == "10.0.0.1"
    assert host_entry("10.0.0.1", 2222) == "[10.0.0.1]:2222"
    assert host_entry("leaf1.example", 830) == "[leaf1.example]:830"


def test_fingerprint_is_type_and_sha256_like_openssh() -> None:
    key = new_key()
    digest = base64.b64encode(hashlib.sha256(key.public_data).digest()).decode().rstrip("=")
    assert fingerprint(key) == f"ED25519 SHA256:{digest}"
    assert fingerprint(new_key("ecdsa-sha2-nistp256")).startswith("ECDSA SHA256:")


# -- reading known_hosts (asyncssh's reader) ------------------------------------------------------------------


def store_for(tmp_path: Path, *user_files: Path, **options: Any) -> KnownHosts:
    """A store that reads only the given files (never this machine's ~/.ssh or /etc/ssh)."""
    options.setdefault("global_files", ())
    return KnownHosts(tmp_path / "own", user_files=user_files, **options)


def test_plain_hashed_wildcard_negated_and_marked_entries_match_like_openssh(tmp_path: Path) -> None:
    plain, hashed, wild, revoked, ca = new_key(), new_key(), new_key(), new_key(), new_key()
    user_file = tmp_path / "user_known_hosts"
    user_file.write_text(
        "# a comment, then a blank line\n\n"
        f"leaf1,10.0.0.1 {key_text(plain)} ops@laptop\n"
        f"{hashed_name('[10.0.0.2]:2222')} {key_text(hashed)}\n"
        f"10.9.*,!10.9.0.66 {key_text(wild)}\n"
        f"@revoked 10.0.0.1 {key_text(revoked)}\n"
        f"@cert-authority *.example {key_text(ca)}\n"
        "10.0.0.3 ssh-unknown-type AAAAB3NzaC1yc2E\n"
        "garbage\n"  # asyncssh's reader refuses the whole file for this line; OpenSSH skips it, so do we
    )
    store = store_for(tmp_path, user_file)
    assert store.trusted_keys("10.0.0.1") == [plain]
    assert store.trusted_keys("leaf1") == [plain]
    assert store.trusted_keys("10.0.0.2", 2222) == [hashed]
    assert store.trusted_keys("10.9.3.4") == [wild]
    assert store.trusted_keys("10.9.0.66") == []  # excluded by the negated pattern
    assert store.trusted_keys("leaf2") == []
    check = store.check("leaf1", "10.0.0.1", 22)
    trusted, ca_keys, revoked_keys = check.known_hosts("10.0.0.1", "10.0.0.1", None)
    assert (trusted, ca_keys, revoked_keys) == ([plain], [], [revoked])
    assert store.check("sw", "sw.example", 22).known_hosts("", "", None)[1] == [ca]


def test_hashed_entries_as_ssh_keygen_writes_them(tmp_path: Path) -> None:
    """`ssh-keygen -H` hashes the name as written in known_hosts: the bracketed form for another port."""
    key = new_key()
    user_file = tmp_path / "known_hosts"
    user_file.write_text(f"{hashed_name('10.0.0.5', salt=bytes(range(20)))} {key_text(key)}\n")
    store = store_for(tmp_path, user_file)
    assert store.trusted_keys("10.0.0.5") == [key]
    assert store.trusted_keys("10.0.0.6") == []
    assert store.trusted_keys("10.0.0.5", 2222) == []


def test_a_non_default_port_does_not_fall_back_to_the_port_22_entry(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"
    user_file.write_text(f"10.0.0.1 {key_text(new_key())}\n")
    store = store_for(tmp_path, user_file)
    assert store.trusted_keys("10.0.0.1", 22)
    assert store.trusted_keys("10.0.0.1", 2222) == []  # OpenSSH looks up [10.0.0.1]:2222 only


def test_an_external_change_to_a_file_is_seen(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"
    user_file.write_text("")
    store = store_for(tmp_path, user_file)
    assert store.trusted_keys("10.0.0.7") == []
    key = new_key()
    user_file.write_text(f"10.0.0.7 {key_text(key)}\n")
    assert store.trusted_keys("10.0.0.7") == [key]


def test_a_file_that_appears_after_the_first_lookup_is_read(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"  # missing at first: it trusts nothing, and is looked for again each time
    store = store_for(tmp_path, user_file)
    assert store.trusted_keys("10.0.0.9") == []
    key = new_key()
    user_file.write_text(f"10.0.0.9 {key_text(key)}\n")
    assert store.trusted_keys("10.0.0.9") == [key]


def test_the_global_known_hosts_file_counts(tmp_path: Path) -> None:
    assert Path("/etc/ssh/ssh_known_hosts") in GLOBAL_KNOWN_HOSTS  # OpenSSH's GlobalKnownHostsFile default
    key = new_key()
    global_file = tmp_path / "ssh_known_hosts"
    global_file.write_text(f"[10.0.0.8]:2222 {key_text(key)}\n")
    store = KnownHosts(tmp_path / "own", user_files=(), global_files=(global_file,), policy=HostKeyPolicy.STRICT)
    check = store.check("leaf8", "10.0.0.8", 2222)
    assert check.known_hosts("", "", None)[0] == [key]
    default = KnownHosts(tmp_path / "own", user_files=())
    assert default.files_for()[:-1] == tuple(GLOBAL_KNOWN_HOSTS)


# -- policy decisions -----------------------------------------------------------------------------------------


def test_accept_new_records_a_new_key_once_in_our_own_file_and_announces_it(tmp_path: Path) -> None:
    user_file = tmp_path / "user_known_hosts"
    user_file.write_text("")
    own = tmp_path / "state" / "known_hosts"
    events: list[HostKeyEvent] = []
    store = KnownHosts(own, user_files=(user_file,), global_files=(), on_new_key=events.append)
    key = new_key()

    check = store.check("leaf1", "10.0.0.1", 2222)
    assert check.validate(key) is True
    assert check.verdict is HostKeyVerdict.NEW
    assert own.read_text() == f"[10.0.0.1]:2222 {key_text(key)}\n"
    assert stat.S_IMODE(own.stat().st_mode) == 0o600
    assert user_file.read_text() == ""  # the user's file is never written
    assert events == [HostKeyEvent("leaf1", "[10.0.0.1]:2222", fingerprint(key), f"{own}:1")]
    assert fingerprint(key) in events[0].describe() and key.get_fingerprint("sha256").startswith("SHA256:")

    again = store.check("leaf1", "10.0.0.1", 2222)
    assert again.known_hosts("", "", 2222)[0] == [key]  # asyncssh accepts a recorded key by itself
    assert store.remember("10.0.0.1", 2222, key) is False
    assert own.read_text().count("\n") == 1
    assert len(events) == 1  # announced once

    fresh_process = KnownHosts(own, user_files=(user_file,), global_files=())
    assert fresh_process.trusted_keys("10.0.0.1", 2222) == [key]


def test_a_changed_key_is_refused_with_both_fingerprints_and_file_and_line(tmp_path: Path) -> None:
    user_file = tmp_path / "user_known_hosts"
    old = new_key()
    user_file.write_text(f"# edited by hand\n10.0.0.9 {key_text(new_key())}\n[10.0.0.1]:2222 {key_text(old)}\n")
    store = store_for(tmp_path, user_file)
    offered = new_key()

    check = store.check("alcala-leaf1", "10.0.0.1", 2222)
    check.known_hosts("", "", None)
    assert check.validate(offered) is False
    assert check.verdict is HostKeyVerdict.MISMATCH
    assert not (tmp_path / "own").exists()  # never silently accepted
    error = check.error()
    assert isinstance(error, HostKeyMismatch)
    assert error.code is Failure.HOSTKEY
    assert error.session_state is SessionState.HOSTKEY_MISMATCH
    assert error.recorded_fingerprints == (fingerprint(old),)
    assert error.offered_fingerprint == fingerprint(offered)
    assert error.recorded_in == (f"{user_file}:3",)
    text = str(error)
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in text
    assert "man-in-the-middle" in text
    assert fingerprint(old) in text and fingerprint(offered) in text
    assert f"{user_file}:3" in text
    assert f"ssh-keygen -R '[10.0.0.1]:2222' -f {user_file}" in text


def test_a_changed_key_matched_by_a_hashed_wildcard_line_names_that_line(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"
    old = new_key()
    user_file.write_text(f"10.8.*,!10.8.0.1 {key_text(new_key())}\n{hashed_name('10.8.0.1')} {key_text(old)}\n")
    check = store_for(tmp_path, user_file).check("leaf", "10.8.0.1", 22)
    assert check.validate(new_key()) is False
    error = check.error()
    assert isinstance(error, HostKeyMismatch)
    assert error.recorded_in == (f"{user_file}:2",)


def test_strict_refuses_unknown_keys_and_accepts_recorded_ones(tmp_path: Path) -> None:
    known = new_key()
    user_file = tmp_path / "user_known_hosts"
    user_file.write_text(f"10.0.0.1 {key_text(known)}\n")
    events: list[HostKeyEvent] = []
    store = store_for(tmp_path, user_file, policy=HostKeyPolicy.STRICT, on_new_key=events.append)

    unknown_check = store.check("leaf2", "10.0.0.2", 22)
    assert unknown_check.validate(new_key()) is False
    assert unknown_check.verdict is HostKeyVerdict.UNKNOWN
    error = unknown_check.error()
    assert isinstance(error, HostKeyUnknown)
    assert "strict" in str(error) and "SHA256:" in str(error)
    assert not (tmp_path / "own").exists()
    assert events == []

    assert store.check("leaf1", "10.0.0.1", 22).known_hosts("", "", None)[0] == [known]


def test_a_revoked_key_is_refused_even_under_accept_new(tmp_path: Path) -> None:
    revoked = new_key()
    user_file = tmp_path / "known_hosts"
    user_file.write_text(f"@revoked * {key_text(revoked)}\n")
    store = store_for(tmp_path, user_file)
    check = store.check("leaf3", "10.0.0.3", 22)
    assert check.known_hosts("", "", None)[2] == [revoked]  # asyncssh refuses it before asking us
    assert check.validate(revoked) is False
    assert check.verdict is HostKeyVerdict.REVOKED
    assert f"{user_file}:1" in str(check.error())
    assert not (tmp_path / "own").exists() or (tmp_path / "own").read_text() == ""


def test_strict_host_key_checking_and_known_hosts_files_come_from_ssh_config(tmp_path: Path) -> None:
    key = new_key()
    user_file = tmp_path / "team_known_hosts"
    user_file.write_text(f"[127.0.0.5]:2222 {key_text(key)}\n")
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host strict-*\n"
        "  StrictHostKeyChecking yes\n"
        f"  UserKnownHostsFile {user_file}\n"
        "  GlobalKnownHostsFile none\n"
        "Host ask-*\n"
        "  StrictHostKeyChecking ask\n"
        "Host *\n"
        "  Port 2222\n"
    )

    def device(name: str) -> Device:
        return Device(
            name=name,
            site="s",
            role="leaf",
            platform=Platform.SRLINUX,
            model="",
            host=name,
            credentials=Credentials(username="netops"),
        )

    devices = (device("strict-1"), device("ask-1"), device("other-1"))
    inventory = Inventory(devices=devices, ssh_config=config)
    strict, ask, other = (ssh_settings_for(d, inventory).host_keys for d in devices)
    assert strict == HostKeyConfig("yes", (user_file,), ())
    assert ask == HostKeyConfig("ask", None, None)
    assert other == HostKeyConfig()

    store = KnownHosts(tmp_path / "own")  # no policy and no files of its own: ssh_config decides per host
    assert store.files_for(strict) == (user_file, tmp_path / "own")
    check = store.check("strict-1", "127.0.0.5", 2222, strict)
    assert check.known_hosts("", "", None)[0] == [key]
    unknown = store.check("strict-1", "127.0.0.6", 2222, strict)
    assert unknown.validate(new_key()) is False
    assert unknown.verdict is HostKeyVerdict.UNKNOWN
    assert store.policy_for(ask) is HostKeyPolicy.ASK
    assert store.policy_for(other) is HostKeyPolicy.ACCEPT_NEW  # the default
    assert store.policy_for(HostKeyConfig("no")) is HostKeyPolicy.ACCEPT_NEW  # never "accept a changed key"
    # A policy given to edgeops wins over ssh_config.
    assert KnownHosts(tmp_path / "own", policy=HostKeyPolicy.ACCEPT_NEW).policy_for(strict) is HostKeyPolicy.ACCEPT_NEW


async def test_ask_records_a_key_on_yes_refuses_on_no_and_acts_as_strict_with_nobody_to_ask(tmp_path: Path) -> None:
    questions: list[HostKeyEvent] = []
    announced: list[HostKeyEvent] = []
    answers = {"10.0.1.1": True, "10.0.1.2": False}

    async def confirm(event: HostKeyEvent) -> bool:
        questions.append(event)
        return answers[event.host_entry]

    store = store_for(tmp_path, policy=HostKeyPolicy.ASK, confirm=confirm, on_new_key=announced.append)
    yes_key, no_key = new_key(), new_key()

    yes = store.check("a", "10.0.1.1", 22)
    assert yes.validate(yes_key) is False  # asyncssh cannot wait for the answer: refused for now...
    assert yes.verdict is HostKeyVerdict.ASK
    assert await yes.confirm() is True  # ...recorded on a yes; the caller connects again
    assert store.trusted_keys("10.0.1.1") == [yes_key]
    assert questions[0] == HostKeyEvent("a", "10.0.1.1", fingerprint(yes_key))
    assert [event.host_entry for event in announced] == ["10.0.1.1"]

    no = store.check("b", "10.0.1.2", 22)
    assert no.validate(no_key) is False
    assert await no.confirm() is False
    assert isinstance(no.error(), HostKeyUnknown)
    assert store.trusted_keys("10.0.1.2") == []
    again = store.check("b", "10.0.1.2", 22)
    again.validate(no_key)
    assert await again.confirm() is False
    assert len(questions) == 2  # a declined key is not asked about again

    nobody = store_for(tmp_path, policy=HostKeyPolicy.ASK)  # `edgeops run` without a terminal
    check = nobody.check("c", "10.0.1.3", 22)
    assert check.validate(new_key()) is False
    assert check.verdict is HostKeyVerdict.UNKNOWN
    assert await check.confirm() is False


async def test_many_connections_waiting_on_one_question_share_the_answer(tmp_path: Path) -> None:
    asked = 0
    release = asyncio.Event()

    async def confirm(event: HostKeyEvent) -> bool:
        nonlocal asked
        asked += 1
        await release.wait()
        return True

    store = store_for(tmp_path, policy=HostKeyPolicy.ASK, confirm=confirm)
    key = new_key()
    checks = [store.check("d", "10.0.2.1", 22) for _ in range(5)]
    for check in checks:
        check.validate(key)
    waiting = [asyncio.create_task(check.confirm()) for check in checks]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [True] * 5
    assert asked == 1
    assert (tmp_path / "own").read_text().count("\n") == 1


def test_forget_rewrites_our_file_atomically_keeping_other_hosts(tmp_path: Path) -> None:
    own = tmp_path / "known_hosts"
    store = KnownHosts(own, user_files=(), global_files=())
    keep, drop = new_key(), new_key()
    store.remember("10.0.0.1", 22, keep)
    store.remember("10.0.0.2", 2222, drop)
    before = own.stat().st_ino
    assert store.forget("10.0.0.2", 2222) == 1
    assert own.stat().st_ino != before  # a new file renamed into place, not an in-place edit
    assert own.read_text() == f"10.0.0.1 {key_text(keep)}\n"
    assert store.trusted_keys("10.0.0.2", 2222) == []
    assert store.forget("10.0.0.99") == 0
    store.remember("10.0.0.3", 22, drop)  # the lock follows the renamed file
    assert own.read_text().count("\n") == 2


def test_an_append_never_joins_a_last_line_without_newline(tmp_path: Path) -> None:
    own = tmp_path / "known_hosts"
    first = new_key()
    own.write_text(f"10.0.0.1 {key_text(first)}")  # edited by hand, no final newline
    events: list[HostKeyEvent] = []
    store = KnownHosts(own, user_files=(), global_files=(), on_new_key=events.append)
    second = new_key()
    store.remember("10.0.0.2", 22, second)
    assert own.read_text().splitlines() == [f"10.0.0.1 {key_text(first)}", f"10.0.0.2 {key_text(second)}"]
    assert store.trusted_keys("10.0.0.2") == [second]
    assert events[0].recorded_in == f"{own}:2"


# -- races: two checks of one host that start together never both append ----------------------------------------


def test_two_checks_that_start_together_record_one_key_and_the_second_sees_it(tmp_path: Path) -> None:
    store = store_for(tmp_path)
    first, second = store.check("leaf", "10.0.3.1", 2222), store.check("leaf", "10.0.3.1", 2222)
    first.known_hosts("", "", None)
    second.known_hosts("", "", None)  # both handshakes started before either key was recorded
    assert first.validate(new_key()) is True
    assert second.validate(new_key()) is False  # a different key: the first one's is recorded by now
    assert second.verdict is HostKeyVerdict.MISMATCH
    assert isinstance(second.error(), HostKeyMismatch)
    assert (tmp_path / "own").read_text().count("\n") == 1


def test_two_stores_on_one_file_as_two_processes_would_never_both_append(tmp_path: Path) -> None:
    own = tmp_path / "known_hosts"
    one = KnownHosts(own, user_files=(), global_files=())
    other = KnownHosts(own, user_files=(), global_files=())
    assert one.trusted_keys("10.0.3.2") == other.trusted_keys("10.0.3.2") == []  # both caches hold "nothing"
    key = new_key()
    assert one.check("x", "10.0.3.2", 22).validate(key) is True
    late = other.check("x", "10.0.3.2", 22)
    assert late.validate(new_key()) is False
    assert late.verdict is HostKeyVerdict.MISMATCH
    assert other.check("x", "10.0.3.2", 22).validate(key) is True  # the same key: accepted, not appended again
    assert own.read_text().count("\n") == 1


# A racing process: loads the (empty) file, waits for the start file, then accepts a key of its own. Run as a fresh
# interpreter, not a fork: a fork of a test process whose gRPC threads are running can hang in gRPC's fork handlers.
_RACER = """
import os, sys, time
from pathlib import Path

import asyncssh

from edgeops.devices.hostkeys import KnownHosts

store = KnownHosts(Path(sys.argv[1]), user_files=(), global_files=())
store.trusted_keys("10.0.3.3")
print("ready", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
key = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()
print(store.check("x", "10.0.3.3", 22).validate(key), flush=True)
"""


def test_processes_accepting_different_keys_for_one_host_at_once_record_exactly_one(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    own = tmp_path / "known_hosts"
    go = tmp_path / "go"
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(own), str(go)], stdout=subprocess.PIPE, text=True, env=environment
        )
        for _ in range(6)
    ]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline().strip() == "ready"
    go.touch()
    accepted = []
    for racer in racers:
        output, _ = racer.communicate(timeout=60)
        accepted.append(output.strip() == "True")
    assert accepted.count(True) == 1
    assert own.read_text().count("\n") == 1


async def test_500_concurrent_first_connections_each_record_exactly_one_line(tmp_path: Path) -> None:
    own = tmp_path / "known_hosts"
    store = KnownHosts(own, user_files=(), global_files=())
    keys = [new_key() for _ in range(20)]

    async def first_contact(index: int) -> bool:
        await asyncio.sleep(random.random() / 100)
        check = store.check(f"dev{index}", f"127.20.{index // 250}.{index % 250 + 1}", 2222)
        # Two connections to the same device racing: the second must find the first one's key.
        accepted = check.validate(keys[index % 20])
        duplicate = store.check(f"dev{index}", f"127.20.{index // 250}.{index % 250 + 1}", 2222)
        return accepted and duplicate.known_hosts("", "", 2222)[0] == [keys[index % 20]]

    results = await asyncio.gather(*(first_contact(index) for index in range(500)))
    assert all(results)
    lines = own.read_text().splitlines()
    assert len(lines) == 500 and len(set(lines)) == 500
    reread = KnownHosts(own, user_files=(), global_files=())
    assert all(reread.trusted_keys(f"127.20.{i // 250}.{i % 250 + 1}", 2222) == [keys[i % 20]] for i in range(500))


# -- certificates and revocation in a real handshake ------------------------------------------------------------


class _OpenServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return False  # no authentication: the test is about the host key only


@pytest.fixture
async def cert_server() -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """An asyncssh server on 127.0.0.1 presenting the given host key (and certificate)."""
    servers: list[asyncssh.SSHAcceptor] = []

    async def start(host_key: asyncssh.SSHKey, cert: asyncssh.SSHCertificate | None = None) -> int:
        keys: Any = [(host_key, cert)] if cert is not None else [host_key]
        server = await asyncssh.listen("127.0.0.1", 0, server_host_keys=keys, server_factory=_OpenServer)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def connect_checked(store: KnownHosts, port: int) -> HostKeyVerdict | None:
    check = store.check("certified", "127.0.0.1", port)
    async with await asyncssh.connect(
        "127.0.0.1",
        port,
        username="ops",
        known_hosts=check.known_hosts,
        client_factory=check.client_factory(),
        config=[],
        agent_path=None,
        client_keys=None,
    ):
        return check.verdict


async def test_a_host_certificate_from_a_cert_authority_line_is_trusted_and_a_revoked_one_is_not(
    tmp_path: Path, cert_server: Callable[..., Awaitable[int]]
) -> None:
    ca = asyncssh.generate_private_key("ssh-ed25519")
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    cert = ca.generate_host_certificate(host_key, "127.0.0.1", principals=["127.0.0.1"])
    port = await cert_server(host_key, cert)
    user_file = tmp_path / "known_hosts"
    user_file.write_text(f"@cert-authority [127.0.0.*]:* {key_text(ca.convert_to_public())}\n")

    strict = store_for(tmp_path, user_file, policy=HostKeyPolicy.STRICT)
    assert await connect_checked(strict, port) is None  # accepted by asyncssh from the CA line alone
    assert not (tmp_path / "own").exists()

    user_file.write_text(
        f"@cert-authority [127.0.0.*]:* {key_text(ca.convert_to_public())}\n"
        f"@revoked * {key_text(host_key.convert_to_public())}\n"
    )
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await connect_checked(strict, port)


async def test_a_revoked_plain_key_is_refused_in_a_handshake_under_accept_new(
    tmp_path: Path, cert_server: Callable[..., Awaitable[int]]
) -> None:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    port = await cert_server(host_key)
    user_file = tmp_path / "known_hosts"
    user_file.write_text(f"@revoked * {key_text(host_key.convert_to_public())}\n")
    store = store_for(tmp_path, user_file)
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await connect_checked(store, port)
    assert not (tmp_path / "own").exists() or (tmp_path / "own").read_text() == ""


# -- against the lab ----------------------------------------------------------------------------------------

LAB_SSH_PORT = 2222


@pytest.fixture
async def start_lab(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Lab]]]:
    """Start a small lab in its own 127.<block> range (retrying another block if one is taken)."""
    labs: list[Lab] = []

    async def start(**options: Any) -> Lab:
        for attempt in range(8):
            block = random.randrange(100, 250)
            identities = relocate(build_fleet(synthetic_sites(1), 5, ssh_port=LAB_SSH_PORT), block)
            lab = Lab(identities, lab_dir=tmp_path / f"lab{len(labs)}-{attempt}", ssh_port=LAB_SSH_PORT, **options)
            try:
                await lab.start()
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE and attempt < 7:
                    continue
                raise
            labs.append(lab)
            return lab
        raise AssertionError("no free address block")

    yield start
    for lab in reversed(labs):
        await lab.stop()


def session_to(lab: Lab, name: str, known_hosts: KnownHosts) -> SshSession:
    identity = lab.device(name).identity
    target = SshTarget(name, identity.platform, identity.host, identity.ssh_port, identity.username, use_agent=False)
    return SshSession(target, known_hosts=known_hosts, password=lambda: identity.password, connect_timeout_s=10)


@pytest.mark.lab
async def test_lab_first_use_records_then_accepts_then_refuses_a_changed_key(
    start_lab: Callable[..., Awaitable[Lab]], tmp_path: Path
) -> None:
    lab = await start_lab(gnmi=False)
    own = tmp_path / "state" / "known_hosts"
    store = KnownHosts(own, user_files=())
    identity = lab.device("alcala-leaf1").identity

    async with session_to(lab, "alcala-leaf1", store) as session:
        assert (await session.run("show version")).ok
    recorded = own.read_text()
    assert recorded.startswith(f"[{identity.host}]:{identity.ssh_port} ssh-ed25519 ")
    lab_line = next(
        line for line in lab.known_hosts_file.read_text().splitlines() if line.startswith(f"[{identity.host}]")
    )
    assert recorded.split()[1:] == lab_line.split()[1:]  # the key the lab really serves

    async with session_to(lab, "alcala-leaf1", store) as session:  # second connect: accepted silently
        assert session.alive
    assert own.read_text() == recorded

    await lab.inject("alcala-leaf1", "hostkey-change")
    # The lab ends a CLI session a few loop turns after the client's close() returned (on 3.12+ it is still open
    # then): let the last one end first, so the count compared below changes only if the refused connect opens one.
    for _ in range(100):
        if lab.ssh is None or lab.ssh.sessions_open == 0:
            break
        await asyncio.sleep(0.05)
    sessions_before = lab.ssh.sessions_open if lab.ssh else 0
    changed = session_to(lab, "alcala-leaf1", store)
    with pytest.raises(HostKeyMismatch) as raised:
        await changed.open()
    assert changed.state is SessionState.HOSTKEY_MISMATCH
    assert not changed.alive
    assert raised.value.offered_fingerprint and raised.value.offered_fingerprint in str(raised.value)
    assert raised.value.recorded_fingerprints[0] in str(raised.value)
    assert own.read_text() == recorded  # the new key was not recorded
    assert (lab.ssh.sessions_open if lab.ssh else 0) == sessions_before  # no CLI session was started

    # The other devices are unaffected.
    async with session_to(lab, "alcala-gw1", store) as session:
        assert (await session.run("show version")).ok


@pytest.mark.lab
async def test_lab_strict_mode_refuses_an_unknown_key_and_accepts_the_users_known_hosts(
    start_lab: Callable[..., Awaitable[Lab]], tmp_path: Path
) -> None:
    lab = await start_lab(gnmi=False)
    strict = KnownHosts(tmp_path / "own", user_files=(), policy=HostKeyPolicy.STRICT)
    refused = session_to(lab, "alcala-spine1", strict)
    with pytest.raises(HostKeyUnknown):
        await refused.open()
    assert refused.state is SessionState.HOSTKEY_MISMATCH
    assert not (tmp_path / "own").exists()

    # The lab writes a known_hosts file of its devices: as the user's file, strict mode accepts them.
    trusting = KnownHosts(tmp_path / "own", user_files=(lab.known_hosts_file,), policy=HostKeyPolicy.STRICT)
    async with session_to(lab, "alcala-spine1", trusting) as session:
        assert (await session.run("show version")).ok
    assert not (tmp_path / "own").exists()


@pytest.mark.lab
async def test_lab_ask_connects_after_a_yes_and_announces_the_key(
    start_lab: Callable[..., Awaitable[Lab]], tmp_path: Path
) -> None:
    lab = await start_lab(gnmi=False)
    identity = lab.device("alcala-gw2").identity
    questions: list[HostKeyEvent] = []
    announced: list[HostKeyEvent] = []

    async def confirm(event: HostKeyEvent) -> bool:
        questions.append(event)
        return True

    own = tmp_path / "own"
    store = KnownHosts(own, user_files=(), global_files=(), policy="ask", confirm=confirm, on_new_key=announced.append)
    async with session_to(lab, "alcala-gw2", store) as session:
        assert (await session.run("show version")).ok
    lab_line = next(
        line for line in lab.known_hosts_file.read_text().splitlines() if line.startswith(f"[{identity.host}]")
    )
    served = asyncssh.import_public_key(" ".join(lab_line.split()[1:3]))
    assert [event.fingerprint for event in questions] == [fingerprint(served)]
    assert [event.recorded_in for event in announced] == [f"{own}:1"]

    # Without anyone to ask, ask refuses like strict.
    nobody = KnownHosts(tmp_path / "other", user_files=(), global_files=(), policy="ask")
    with pytest.raises(HostKeyUnknown):
        await session_to(lab, "alcala-gw2", nobody).open()
