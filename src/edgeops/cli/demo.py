"""`edgeops --demo`: the 17-site device lab in a child process (`edgeops lab`), and the console on it."""

from __future__ import annotations

import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edgeops.cli.console import ConsoleRuntime, ConsoleScope, ScopeError, open_console, read_scoped, scope_problem
from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

log = logging.getLogger(__name__)

DEMO_ADDRESS_BLOCK = 10  # the lab's default: devices at 127.10.<site>.<n>
DEMO_BLOCK_ENV = "EDGEOPS_DEMO_ADDRESS_BLOCK"
DEMO_START_TIMEOUT_S = 90.0
DEMO_STOP_TIMEOUT_S = 10.0
DEMO_ATTEMPTS = 3
LAB_OUTPUT = "lab-output.txt"


def run_demo(paths: AppPaths, theme: str | None, scope: ConsoleScope | None = None) -> int:
    """Start the 17-site demo lab in a child process, open the console on it (on the devices `scope` selects), stop
    the lab when the console exits."""
    from edgeops.devices.hostkeys import HostKeyPolicy
    from edgeops.fleet.engine import EngineSettings

    lab_dir = Path(tempfile.mkdtemp(prefix="edgeops-demo-"))
    lab = DemoLab(lab_dir, log_dir=paths.log_dir)
    try:
        print("edgeops: starting the demo lab (17 sites, 136 simulated devices)…", file=sys.stderr, flush=True)
        try:
            inventory_file = lab.start()
        except DemoLabError as error:
            print(f"edgeops: the demo lab did not start: {error}", file=sys.stderr)
            return ExitCode.FAILED
        scoped = None
        if scope is not None:
            try:
                scoped = read_scoped(inventory_file, scope)
            except ScopeError as error:
                return scope_problem(error)
        # The demo keeps its own state (known hosts, audit log, history) in the lab folder, and trusts exactly
        # the host keys the lab wrote, so it never touches the engineer's real known_hosts.
        demo_paths = AppPaths(
            config_dir=paths.config_dir, state_dir=lab_dir / "state", log_dir=paths.log_dir, inventory=inventory_file
        )
        settings = EngineSettings(
            user_known_hosts=(lab_dir / "known_hosts",), global_known_hosts=(), hostkey_policy=HostKeyPolicy.STRICT
        )
        runtime = ConsoleRuntime(inventory_file, demo_paths, settings, scope=scope, scoped=scoped)
        return open_console(runtime, theme=theme)
    finally:
        lab.stop()
        shutil.rmtree(lab_dir, ignore_errors=True)


class DemoLabError(RuntimeError):
    pass


class DemoLab:
    """The demo fleet served by `edgeops lab` in a child process.

    A child process keeps the lab's CPU (136 devices' SSH and gNMI servers) off the console's event loop. It is
    stopped when the console exits; should the console die without stopping it, the lab sees its standard input
    (a pipe from the console) close and stops itself (`edgeops lab --stop-on-eof`).
    """

    def __init__(
        self,
        lab_dir: Path,
        *,
        log_dir: Path,
        sites: int | None = None,
        devices_per_site: int = 8,
        address_block: int | None = None,
    ) -> None:
        self.lab_dir = lab_dir
        self.log_dir = log_dir
        self.sites = sites
        self.devices_per_site = devices_per_site
        block = address_block or int(os.environ.get(DEMO_BLOCK_ENV, DEMO_ADDRESS_BLOCK))
        self.address_block = block
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def inventory_file(self) -> Path:
        return self.lab_dir / "inventory.yaml"

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "edgeops",
            "--log-dir",
            str(self.log_dir),
            "--state-dir",
            str(self.lab_dir / "state"),
            "lab",
            "--stop-on-eof",
            "--lab-dir",
            str(self.lab_dir),
            "--address-block",
            str(self.address_block),
            "--devices-per-site",
            str(self.devices_per_site),
        ]
        if self.sites is not None:
            command += ["--sites", str(self.sites)]
        return command

    def start(self, timeout_s: float = DEMO_START_TIMEOUT_S) -> Path:
        """Start the lab and wait until it has written its inventory; another address block if one is taken."""
        for attempt in range(DEMO_ATTEMPTS):
            if attempt:
                self.address_block = random.randint(20, 99)
            output = self._spawn()
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if self.inventory_file.exists():
                    return self.inventory_file
                assert self.process is not None
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
            else:
                self.stop()
                raise DemoLabError(f"no inventory after {timeout_s:.0f} s (see {output})")
            status = self._reap()
            if status != ExitCode.ADDRESS_IN_USE:
                said = output.read_text(encoding="utf-8", errors="replace").strip()
                raise DemoLabError(said.splitlines()[-1] if said else f"the lab exited at once (status {status})")
            log.info("demo lab: address block %d is taken, trying another", self.address_block)
        raise DemoLabError("every address block tried was taken")

    def _spawn(self) -> Path:
        self.lab_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        output = self.lab_dir / LAB_OUTPUT
        with output.open("wb") as sink:
            self.process = subprocess.Popen(
                self.command(),
                # A pipe only this process holds open: when it dies, however it dies, the lab reads end-of-file.
                stdin=subprocess.PIPE,
                stdout=sink,
                stderr=subprocess.STDOUT,
                # Its own session: the terminal's signals (Ctrl-C, hang-up) go to the console, which stops the lab.
                start_new_session=True,
            )
        log.info("demo lab started as pid %d in %s", self.process.pid, self.lab_dir)
        return output

    def _reap(self) -> int:
        """The exit status of a lab that has exited, its pipe closed."""
        process, self.process = self.process, None
        assert process is not None
        if process.stdin is not None:
            process.stdin.close()
        return process.wait()

    def stop(self) -> None:
        """SIGTERM (the lab closes its servers), then SIGKILL if it has not exited in time. Safe to call twice."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(DEMO_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.info("demo lab stopped (exit status %s)", process.returncode)
        self._reap()
