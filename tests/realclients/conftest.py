"""Fixtures for tests that drive the device lab with clients written elsewhere: OpenSSH, scrapli, Netmiko, pygnmi."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_clients import LabThread


def run_lab_thread(lab_dir: Path, **options: Any) -> Iterator[LabThread]:
    runner = LabThread(lab_dir, **options).start()
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture(scope="module")
def client_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabThread]:
    """The module's lab: the four pinned devices (and two more SR Linux), with a jump host; gNMI in plaintext."""
    yield from run_lab_thread(tmp_path_factory.mktemp("lab"), jump_host=True)


@pytest.fixture(scope="module")
def tls_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabThread]:
    """The same devices with gNMI over TLS, certificates from the lab's CA."""
    yield from run_lab_thread(tmp_path_factory.mktemp("tls-lab"), gnmi_tls="tls")
