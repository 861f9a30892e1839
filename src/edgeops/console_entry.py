"""Starts the full-screen console (and, with --demo, the lab behind it)."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeops.paths import AppPaths

if TYPE_CHECKING:  # the console's modules pull in textual: imported only when the console starts
    from edgeops.fleet.engine import EngineSettings, FleetEngine
    from edgeops.inventory.model import Inventory
    from edgeops.inventory.problems import Problem

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # a broken or missing inventory, an unknown theme, no terminal

DEMO_ADDRESS_BLOCK = 10  # the lab's default: devices at 127.10.<site>.<n>
DEMO_BLOCK_ENV = "EDGEOPS_DEMO_ADDRESS_BLOCK"
DEMO_START_TIMEOUT_S = 90.0
DEMO_STOP_TIMEOUT_S = 10.0
DEMO_ATTEMPTS = 3
LAB_OUTPUT = "lab-output.txt"
_PR_SET_PDEATHSIG = 1


def run_console(args: argparse.Namespace, paths: AppPaths) -> int:
    """`edgeops` and `edgeops --demo`: the console on the configured inventory, or on a demo lab it starts."""
    from edgeops.logging_setup import configure_logging

    # The console owns the terminal: everything logged goes to the rotating file, nothing to the screen.
    configure_logging(paths.log_file, getattr(args, "log_level", "INFO"))
    theme = getattr(args, "theme", None)
    problem = _theme_problem(theme, paths)
    if problem:
        print(f"edgeops: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "demo", False):
        if not _interactive():
            return _no_terminal()
        return _run_demo(paths, theme)
    return _run_on_inventory(paths, theme)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _no_terminal() -> int:
    print("edgeops: the console needs a terminal (for scripts, see `edgeops run`)", file=sys.stderr)
    return EXIT_USAGE


def _theme_problem(theme: str | None, paths: AppPaths) -> str:
    if not theme:
        return ""
    from textual.theme import BUILTIN_THEMES

    from edgeops.ui.themes import load_themes

    names = {t.name for t in load_themes(paths.user_themes_dir)} | set(BUILTIN_THEMES)
    if theme in names:
        return ""
    return f"unknown theme {theme!r}; themes: {', '.join(sorted(names))}"


# -- the console on an inventory ---------------------------------------------------------------------------------


def _run_on_inventory(paths: AppPaths, theme: str | None) -> int:
    source = paths.inventory
    if not source.exists():
        print(
            f"edgeops: no inventory at {source}\n"
            "  write one (see docs/inventory.md), pass --inventory FILE (edgeops YAML, a containerlab topology\n"
            "  or a Nornir hosts.yaml), set EDGEOPS_INVENTORY, or try the console on simulated devices:"
            " edgeops --demo",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not _interactive():
        # No screen to show them on: the problems go to stderr, as `edgeops inventory check` prints them.
        _, problems = load_or_problems(source)
        if not problems:
            return _no_terminal()
        _print_problems(problems)
        count = len(problems)
        print(f"{count} problem{'s' if count != 1 else ''} in {source}", file=sys.stderr)
        return EXIT_USAGE
    return open_console(source, paths, theme=theme)


def load_or_problems(source: Path) -> tuple[Inventory | None, Sequence[Problem]]:
    """The inventory, or the problems (FILE:LINE:COL) that keep it from loading."""
    from edgeops.inventory.loader import load_inventory
    from edgeops.inventory.problems import InventoryError

    try:
        return load_inventory(source), ()
    except InventoryError as error:
        log.warning("the inventory %s does not load:\n%s", source, error.format())
        return None, error.problems


def open_console(
    inventory_file: Path,
    paths: AppPaths,
    *,
    theme: str | None,
    engine_settings: EngineSettings | None = None,
) -> int:
    """Run the console on an inventory file until it exits; returns the exit code.

    The first frame comes first: the inventory is read (and the engine's heavy imports paid) in the background,
    then the engine is built and started on the console's event loop.
    """
    from edgeops.ui.app import FleetSource, build_app

    prompt = DeferredPrompt()

    def load() -> tuple[Inventory | None, Sequence[Problem]]:
        began = time.perf_counter()
        inventory, problems = load_or_problems(inventory_file)
        read = time.perf_counter()
        if inventory is not None:
            import edgeops.fleet.engine  # noqa: F401  (the SSH and gRPC libraries: imported here, off the loop)
        log.info(
            "inventory %s read in %.2f s, engine imported in %.2f s",
            inventory_file,
            read - began,
            time.perf_counter() - read,
        )
        return inventory, problems

    def make_engine(inventory: Inventory) -> FleetEngine:
        from edgeops.fleet.engine import FleetEngine

        return FleetEngine(inventory, paths, settings=engine_settings, password_prompt=prompt)

    app = build_app(inventory=None, paths=paths, theme=theme, source=FleetSource(inventory_file, load, make_engine))
    app.handle_signals = True
    prompt.app = app
    try:
        app.run()
    except Exception:
        log.exception("the console failed")
        raise
    return app.return_code or EXIT_OK


def _print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem.format(), file=sys.stderr)


class DeferredPrompt:
    """The engine's password prompt, answered by the app once it exists (the engine is built first)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, prompt: str) -> str:
        if self.app is None:
            from edgeops.inventory.secrets import SecretError

            raise SecretError("the console is not ready to ask for a password")
        answer: str = await self.app.ask_password(prompt)
        return answer


# -- --demo ------------------------------------------------------------------------------------------------------


def _run_demo(paths: AppPaths, theme: str | None) -> int:
    """Start the 17-site demo lab in a child process, open the console on it, stop the lab when the console exits."""
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
            return EXIT_FAILED
        # The demo keeps its own state (known hosts, audit log, history) in the lab folder, and trusts exactly
        # the host keys the lab wrote, so it never touches the engineer's real known_hosts.
        demo_paths = AppPaths(
            config_dir=paths.config_dir, state_dir=lab_dir / "state", log_dir=paths.log_dir, inventory=inventory_file
        )
        settings = EngineSettings(
            user_known_hosts=(lab_dir / "known_hosts",), global_known_hosts=(), hostkey_policy=HostKeyPolicy.STRICT
        )
        return open_console(inventory_file, demo_paths, theme=theme, engine_settings=settings)
    finally:
        lab.stop()
        shutil.rmtree(lab_dir, ignore_errors=True)


class DemoLabError(RuntimeError):
    pass


def _die_with_parent() -> None:
    """In the lab child: be sent SIGTERM when the console process dies, however it dies (Linux)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class DemoLab:
    """The demo fleet served by `edgeops lab` in a child process.

    A child process keeps the lab's CPU (136 devices' SSH and gNMI servers) off the console's event loop. It is
    stopped when the console exits, and the kernel sends it SIGTERM should the console die without stopping it.
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
            said = output.read_text(encoding="utf-8", errors="replace").strip()
            self.process = None
            if "in use" not in said and "already running" not in said:
                raise DemoLabError(said.splitlines()[-1] if said else "the lab exited at once")
            log.info("demo lab: address block %d is taken, trying another", self.address_block)
        raise DemoLabError("every address block tried was taken")

    def _spawn(self) -> Path:
        self.lab_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        output = self.lab_dir / LAB_OUTPUT
        with output.open("wb") as sink:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                # Its own session: the terminal's signals (Ctrl-C, hang-up) go to the console, which stops the lab.
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        log.info("demo lab started as pid %d in %s", self.process.pid, self.lab_dir)
        return output

    def stop(self) -> None:
        """SIGTERM (the lab closes its servers), then SIGKILL if it has not exited in time. Safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(DEMO_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.info("demo lab stopped (exit status %s)", process.returncode)
