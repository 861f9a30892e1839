"""Settings for the whole test run: made before any test starts a gRPC server (gRPC reads them once), and no
ssh file of this machine in any test."""

from __future__ import annotations

import os

import pytest

from edgeops.inventory import ssh_config

# The lab's gRPC servers run inside the test process, and scrapli's system transport starts OpenSSH with pty.fork(),
# which runs gRPC's fork handlers in the parent and the child (with the lab's threads inside gRPC, they are skipped
# half the time and run the other half). About one OpenSSH in a few hundred then died before its first prompt
# ("encountered EOF reading from transport"). The child only runs ssh and needs none of gRPC's state, and edgeops
# itself never forks a process that uses gRPC, so the test run turns the handlers off.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")


@pytest.fixture(autouse=True)
def _no_ssh_files_of_this_machine(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the user's ~/.ssh (config, keys, known_hosts) nor the machine's /etc/ssh/ssh_config reaches a test:
    a developer's `Host *` block or keys would change what the engine does against the lab. A test that needs such
    a file writes its own (tests/inventory's fixtures point HOME and the system file at their own folders)."""
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setattr(ssh_config, "SYSTEM_SSH_CONFIG", tmp_path_factory.getbasetemp() / "no-etc-ssh" / "ssh_config")
