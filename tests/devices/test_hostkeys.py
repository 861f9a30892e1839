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
    HostKeyPolicy,
    HostKeyVerdict,
    KnownHosts,
    fingerprint,
    host_entry,
    parse_known_hosts,
)
from edgeops.devices.samples import Failure, SessionState
from edgeops.devices.ssh import SshSession, SshTarget
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites


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


# -- parsing and lookups ------------------------------------------------------------------------------------


def test_parse_and_match_plain_hashed_wildcard_negated_and_marked_entries(tmp_path: Path) -> None:
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
        "garbage\n"
    )
    entries = parse_known_hosts(user_file.read_text(), user_file)
    assert [entry.line for entry in entries] == [3, 4, 5, 6, 7]

    store = KnownHosts(tmp_path / "own", user_files=(user_file,))
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


def test_a_non_default_port_does_not_fall_back_to_the_port_22_entry(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"
    user_file.write_text(f"10.0.0.1 {key_text(new_key())}\n")
    store = KnownHosts(tmp_path / "own", user_files=(user_file,))
    assert store.trusted_keys("10.0.0.1", 22)
    assert store.trusted_keys("10.0.0.1", 2222) == []  # OpenSSH looks up [10.0.0.1]:2222 only


def test_an_external_change_to_a_file_is_seen(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"
    user_file.write_text("")
    store = KnownHosts(tmp_path / "own", user_files=(user_file,))
    assert store.trusted_keys("10.0.0.7") == []
    key = new_key()
    user_file.write_text(f"10.0.0.7 {key_text(key)}\n")
    assert store.trusted_keys("10.0.0.7") == [key]


# -- policy decisions -----------------------------------------------------------------------------------------


def test_accept_new_records_a_new_key_once_in_our_own_file_only(tmp_path: Path) -> None:
    user_file = tmp_path / "user_known_hosts"
    user_file.write_text("")
    own = tmp_path / "state" / "known_hosts"
    store = KnownHosts(own, user_files=(user_file,))
    key = new_key()

    check = store.check("leaf1", "10.0.0.1", 2222)
    assert check.validate(key) is True
    assert check.verdict is HostKeyVerdict.NEW
    assert own.read_text() == f"[10.0.0.1]:2222 {key_text(key)}\n"
    assert stat.S_IMODE(own.stat().st_mode) == 0o600
    assert user_file.read_text() == ""  # the user's file is never written

    again = store.check("leaf1", "10.0.0.1", 2222)
    assert again.known_hosts("", "", 2222)[0] == [key]  # asyncssh accepts a recorded key by itself
    assert store.remember("10.0.0.1", 2222, key) is False
    assert own.read_text().count("\n") == 1

    fresh_process = KnownHosts(own, user_files=(user_file,))
    assert fresh_process.trusted_keys("10.0.0.1", 2222) == [key]


def test_a_changed_key_is_refused_with_both_fingerprints_and_a_warning(tmp_path: Path) -> None:
    user_file = tmp_path / "user_known_hosts"
    old = new_key()
    user_file.write_text(f"[10.0.0.1]:2222 {key_text(old)}\n")
    store = KnownHosts(tmp_path / "own", user_files=(user_file,))
    offered = new_key()

    check = store.check("alcala-leaf1", "10.0.0.1", 2222)
    assert check.validate(offered) is False
    assert check.verdict is HostKeyVerdict.MISMATCH
    assert not (tmp_path / "own").exists()  # never silently accepted
    error = check.error()
    assert isinstance(error, HostKeyMismatch)
    assert error.code is Failure.HOSTKEY
    assert error.session_state is SessionState.HOSTKEY_MISMATCH
    assert error.recorded_fingerprints == (fingerprint(old),)
    assert error.offered_fingerprint == fingerprint(offered)
    text = str(error)
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in text
    assert "man-in-the-middle" in text
    assert fingerprint(old) in text and fingerprint(offered) in text
    assert f"{user_file}:1" in text
    assert f"ssh-keygen -R '[10.0.0.1]:2222' -f {user_file}" in text


def test_strict_refuses_unknown_keys_and_accepts_recorded_ones(tmp_path: Path) -> None:
    known = new_key()
    user_file = tmp_path / "user_known_hosts"
    user_file.write_text(f"10.0.0.1 {key_text(known)}\n")
    store = KnownHosts(tmp_path / "own", user_files=(user_file,), policy=HostKeyPolicy.STRICT)

    unknown_check = store.check("leaf2", "10.0.0.2", 22)
    assert unknown_check.validate(new_key()) is False
    assert unknown_check.verdict is HostKeyVerdict.UNKNOWN
    error = unknown_check.error()
    assert isinstance(error, HostKeyUnknown)
    assert "strict" in str(error) and "SHA256:" in str(error)
    assert not (tmp_path / "own").exists()

    assert store.check("leaf1", "10.0.0.1", 22).known_hosts("", "", None)[0] == [known]


def test_forget_rewrites_our_file_atomically_keeping_other_hosts(tmp_path: Path) -> None:
    own = tmp_path / "known_hosts"
    store = KnownHosts(own, user_files=())
    keep, drop = new_key(), new_key()
    store.remember("10.0.0.1", 22, keep)
    store.remember("10.0.0.2", 2222, drop)
    before = own.stat().st_ino
    assert store.forget("10.0.0.2", 2222) == 1
    assert own.stat().st_ino != before  # a new file renamed into place, not an in-place edit
    assert own.read_text() == f"10.0.0.1 {key_text(keep)}\n"
    assert store.trusted_keys("10.0.0.2", 2222) == []
    assert store.forget("10.0.0.99") == 0


def test_an_append_never_joins_a_last_line_without_newline(tmp_path: Path) -> None:
    own = tmp_path / "known_hosts"
    first = new_key()
    own.write_text(f"10.0.0.1 {key_text(first)}")  # edited by hand, no final newline
    store = KnownHosts(own, user_files=())
    second = new_key()
    store.remember("10.0.0.2", 22, second)
    assert own.read_text().splitlines() == [f"10.0.0.1 {key_text(first)}", f"10.0.0.2 {key_text(second)}"]
    entries = store.entries_for("10.0.0.2")
    assert [(e.key, e.line) for e in entries] == [(second, 2)]


async def test_500_concurrent_first_connections_each_record_exactly_one_line(tmp_path: Path) -> None:
    own = tmp_path / "known_hosts"
    store = KnownHosts(own, user_files=())
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
    reread = KnownHosts(own, user_files=())
    assert all(reread.trusted_keys(f"127.20.{i // 250}.{i % 250 + 1}", 2222) == [keys[i % 20]] for i in range(500))


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
