"""Passwords are references resolved at run time; a literal is accepted only in an owner-only file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from edgeops.inventory.loader import load_inventory
from edgeops.inventory.model import Credentials, SecretRef
from edgeops.inventory.problems import InventoryError
from edgeops.inventory.secrets import SecretError, SecretSyntaxError, parse_secret_ref, resolve_secret

from .conftest import WriteFile

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")

LITERAL_INVENTORY = """
sites: [alcala]
defaults: {site: alcala, role: leaf, platform: srlinux}
devices:
  - name: leaf1
    host: 127.0.0.1
    password: NokiaSrl1!
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("env:EDGEOPS_PASSWORD", SecretRef("env", "EDGEOPS_PASSWORD")),
        ("keyring:edgeops/admin", SecretRef("keyring", "edgeops/admin")),
        ("keyring:corp/noc/admin", SecretRef("keyring", "corp/noc/admin")),
        ("prompt", SecretRef("prompt", "")),
        ("prompt:gateways", SecretRef("prompt", "gateways")),
        ("file:secrets/pw", SecretRef("file", "/base/secrets/pw")),
        ("file:/etc/pw", SecretRef("file", "/etc/pw")),
        ("literal:env:NOT_A_REF", SecretRef("literal", "env:NOT_A_REF")),
        ("NokiaSrl1!", SecretRef("literal", "NokiaSrl1!")),
        ("pass:word", SecretRef("literal", "pass:word")),
    ],
)
def test_reference_syntax(text: str, expected: SecretRef) -> None:
    assert parse_secret_ref(text, base_dir=Path("/base")) == expected


@pytest.mark.parametrize("text", ["", "env:", "env:1BAD", "keyring:nouser", "keyring:/user", "file:", "literal:"])
def test_malformed_references(text: str) -> None:
    with pytest.raises(SecretSyntaxError):
        parse_secret_ref(text, base_dir=Path("/base"))


@posix_only
def test_literal_password_refused_when_others_may_read_the_file(write: WriteFile) -> None:
    path = write("inventory.yaml", LITERAL_INVENTORY, mode=0o644)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.col) == (6, 15)
    assert problem.message.startswith(f"literal password refused: {path} may be read by others (mode 0644)")
    assert f"chmod 600 {path}" in problem.message
    assert "NokiaSrl1" not in caught.value.format()


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_literal_password_accepted_in_an_owner_only_file(write: WriteFile, mode: int) -> None:
    path = write("inventory.yaml", LITERAL_INVENTORY, mode=mode)
    (device,) = load_inventory(path).devices
    assert device.credentials.password == SecretRef("literal", "NokiaSrl1!")
    assert resolve_secret(device.credentials.password, prompt_cache={}) == "NokiaSrl1!"


@posix_only
def test_group_readable_file_also_refuses_literals(write: WriteFile) -> None:
    with pytest.raises(InventoryError, match=r"mode 0640"):
        load_inventory(write("inventory.yaml", LITERAL_INVENTORY, mode=0o640))


def test_secrets_never_appear_in_repr() -> None:
    credentials = Credentials(username="admin", password=SecretRef("literal", "NokiaSrl1!"))
    assert "NokiaSrl1" not in repr(credentials)
    assert "NokiaSrl1" not in str(SecretRef("literal", "NokiaSrl1!"))
    assert repr(SecretRef("env", "EDGEOPS_PASSWORD")) == "SecretRef(env:EDGEOPS_PASSWORD)"


def test_password_of_wrong_type_is_not_echoed(write: WriteFile) -> None:
    path = write("inventory.yaml", LITERAL_INVENTORY.replace("NokiaSrl1!", "918273645"))
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert caught.value.problems[0].message == "password must be text; quote it"
    assert "918273645" not in caught.value.format()


def test_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEOPS_TEST_PASSWORD", "from-env")
    assert resolve_secret(SecretRef("env", "EDGEOPS_TEST_PASSWORD"), prompt_cache={}) == "from-env"
    monkeypatch.delenv("EDGEOPS_TEST_PASSWORD")
    with pytest.raises(SecretError, match="environment variable EDGEOPS_TEST_PASSWORD is not set"):
        resolve_secret(SecretRef("env", "EDGEOPS_TEST_PASSWORD"), prompt_cache={})


@posix_only
def test_file_reference_must_be_owner_only(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    os.chmod(secret, 0o600)
    assert resolve_secret(SecretRef("file", str(secret)), prompt_cache={}) == "s3cret"
    os.chmod(secret, 0o644)
    with pytest.raises(SecretError, match=r"may be read by others \(mode 0644\); run: chmod 600") as caught:
        resolve_secret(SecretRef("file", str(secret)), prompt_cache={})
    assert "s3cret" not in str(caught.value)
    with pytest.raises(SecretError, match="does not exist"):
        resolve_secret(SecretRef("file", str(tmp_path / "missing")), prompt_cache={})


@posix_only
def test_inventory_reports_a_readable_password_file(write: WriteFile) -> None:
    write("password", "s3cret\n", mode=0o644)
    path = write("inventory.yaml", LITERAL_INVENTORY.replace("NokiaSrl1!", "file:password"))
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert problem.line == 6
    assert "password file" in problem.message and "mode 0644" in problem.message


def test_prompt_asks_once_per_label_and_run() -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return f"answer-{len(asked)}"

    cache: dict[str, str] = {}
    devices = SecretRef("prompt")
    gateways = SecretRef("prompt", "gateways")
    assert resolve_secret(devices, prompt_cache=cache, ask=ask) == "answer-1"
    assert resolve_secret(devices, prompt_cache=cache, ask=ask) == "answer-1"
    assert resolve_secret(gateways, prompt_cache=cache, ask=ask) == "answer-2"
    assert resolve_secret(gateways, prompt_cache=cache, ask=ask) == "answer-2"
    assert asked == ["Password for devices: ", "Password for gateways: "]


def test_keyring_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.store = {("edgeops", "admin"): "from-keyring"}

        def get_password(self, service: str, username: str) -> str | None:
            return self.store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.store.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        assert resolve_secret(SecretRef("keyring", "edgeops/admin"), prompt_cache={}) == "from-keyring"
        with pytest.raises(SecretError, match="no password stored in the keyring for service 'edgeops', user 'ops'"):
            resolve_secret(SecretRef("keyring", "edgeops/ops"), prompt_cache={})
    finally:
        keyring.set_keyring(previous)


def test_keyring_missing_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring now raises ImportError
    with pytest.raises(SecretError, match=r"pip install 'edgeops\[keyring\]'"):
        resolve_secret(SecretRef("keyring", "edgeops/admin"), prompt_cache={})


def test_a_reference_of_any_other_kind_never_shows_its_value() -> None:
    # A reference built in code with a kind outside the known ones may be carrying the password itself.
    odd = SecretRef("password", "NokiaSrl1!")
    for text in (repr(odd), str(odd), f"{odd}", repr(Credentials("admin", odd))):
        assert "NokiaSrl1" not in text


def test_messages_name_the_reference_in_words_not_as_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    from edgeops.devices.errors import AuthFailed
    from edgeops.devices.hostkeys import KnownHosts
    from edgeops.fleet.on_demand import OnDemandTransport
    from edgeops.inventory.model import Inventory

    monkeypatch.delenv("EO_UNSET", raising=False)
    assert str(SecretRef("env", "EO_UNSET")) == "environment variable EO_UNSET"
    assert str(SecretRef("literal", "NokiaSrl1!")) == "password written in the inventory"
    transport = OnDemandTransport(Inventory(), known_hosts=KnownHosts(Path("/nonexistent/known_hosts")))
    source = transport._password_source("leaf1", SecretRef("env", "EO_UNSET"))
    assert source is not None
    with pytest.raises(AuthFailed) as caught:
        source()
    assert caught.value.message == "cannot get the password for leaf1: environment variable EO_UNSET is not set"
