"""Benchmark: one command to many devices, warm and cold, against Nornir (+nornir-scrapli) and serial Netmiko.

The lab runs in a child process (so its CPU is not the client's), every tool talks to the same lab with the same
command, and each cold figure is a whole process from start to exit, connections included:

    single_rtt_s           one command on one warm session (median of --rtt-samples)
    warm_fanout_s          the command to all N devices through CommandRunner on warm sessions, audited (median)
    warm_fanout_no_audit_s the same without the audit log, to show what its fsyncs cost
    cold_edgeops_s         `edgeops run COMMAND --target all --json` as a subprocess (median of --repeat)
    cold_nornir_s          Nornir + nornir-scrapli, Nornir's default threaded runner with 20 workers
    cold_netmiko_serial_s  Netmiko, one device after another

Nornir and Netmiko are installed in their own virtualenv (--compare-venv, created on first use), never in the
project's. Usage:

    python bench/fanout.py --devices 200 [--json] [--skip-compare] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_COMPARE_VENV = HERE / ".venv-compare"
COMPARE_PACKAGES = ("nornir", "nornir-scrapli", "netmiko")
LAB_SSH_PORT = 2222
DEVICES_PER_SITE = 8
# Scrapli and Netmiko names for our platforms.
SCRAPLI_PLATFORM = {"srlinux": "nokia_srlinux", "sros": "nokia_sros"}
NETMIKO_DEVICE_TYPE = {"srlinux": "nokia_srl", "sros": "nokia_sros"}


# -- the lab (child process) ------------------------------------------------------------------------------------


def lab_identities(devices: int, block: int) -> list[Any]:
    from edgeops.lab.runner import relocate
    from edgeops.lab.topology import build_fleet, synthetic_sites

    sites = synthetic_sites(math.ceil(devices / DEVICES_PER_SITE))
    return relocate(build_fleet(sites, DEVICES_PER_SITE, ssh_port=LAB_SSH_PORT)[:devices], block)


def serve_lab(devices: int, block: int, lab_dir: str, pipe: Connection) -> None:
    """Serve SSH for every device until the parent sends anything."""

    async def main() -> None:
        from edgeops.cli.lab import write_lab_inventory
        from edgeops.lab.runner import Lab

        lab = Lab(lab_identities(devices, block), lab_dir=Path(lab_dir), ssh_port=LAB_SSH_PORT, gnmi=False)
        await lab.start()
        try:
            inventory = write_lab_inventory(lab, Path(lab_dir) / "inventory.yaml")
            hosts = [
                {
                    "name": identity.name,
                    "host": identity.host,
                    "port": identity.ssh_port,
                    "username": identity.username,
                    "password": identity.password,
                    "platform": identity.platform.value,
                }
                for identity in lab.identities
            ]
            pipe.send({"inventory": str(inventory), "hosts": hosts})
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        finally:
            await lab.stop()

    asyncio.run(main())


# -- edgeops, warm (this process) ---------------------------------------------------------------------------------


async def warm_figures(inventory_path: str, command: str, samples: int, repeat: int, state: Path) -> dict[str, float]:
    from edgeops.devices.hostkeys import KnownHosts
    from edgeops.fleet.audit import AuditLog
    from edgeops.fleet.commands import CommandRunner, collect
    from edgeops.fleet.on_demand import OnDemandTransport
    from edgeops.inventory.loader import load_inventory

    inventory = load_inventory(inventory_path)
    devices = list(inventory.devices)
    transport = OnDemandTransport(inventory, known_hosts=KnownHosts(state / "known_hosts", user_files=()))
    audit = AuditLog(state / "audit.jsonl")
    try:
        plain = CommandRunner(transport, audit=None, timeout_s=60)
        audited = CommandRunner(transport, audit=audit, timeout_s=60)
        warm_up = await collect(plain, command, devices)  # opens every session
        failed = [result for result in warm_up if not result.ok]
        if failed:
            raise SystemExit(f"warm-up failed on {len(failed)} device(s): {failed[0].device}: {failed[0].reason}")
        one = devices[0]
        rtts = []
        for _ in range(samples):
            started = time.perf_counter()
            result = await transport.run_command(one, command, timeout_s=60)
            rtts.append(time.perf_counter() - started)
            assert result.ok, result.reason
        fanouts: dict[str, list[float]] = {"audited": [], "plain": []}
        for _ in range(repeat):
            for label, runner in (("audited", audited), ("plain", plain)):
                started = time.perf_counter()
                results = await collect(runner, command, devices)
                fanouts[label].append(time.perf_counter() - started)
                assert all(result.ok for result in results)
        return {
            "single_rtt_s": statistics.median(rtts),
            "warm_fanout_s": statistics.median(fanouts["audited"]),
            "warm_fanout_no_audit_s": statistics.median(fanouts["plain"]),
        }
    finally:
        await transport.aclose()
        audit.close()


# -- cold runs (subprocesses) -------------------------------------------------------------------------------------


def timed(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, str, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {done.returncode}:\n{done.stderr[-2000:]}\n{done.stdout[-2000:]}")
    return elapsed, done.stdout, done.stderr


def cold_edgeops(inventory: str, command: str, devices: int, repeat: int, work: Path) -> float:
    edgeops = Path(sys.executable).with_name("edgeops")
    figures = []
    for attempt in range(repeat):
        state = work / f"edgeops-cold-{attempt}"  # a fresh state dir: new known_hosts, new audit log
        argv = [str(edgeops), "--inventory", inventory, "--state-dir", str(state), "--log-dir", str(state)]
        argv += ["run", command, "--target", "all", "--json", "--no-progress"]
        elapsed, out, _ = timed(argv)
        records = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert len(records) == devices and all(record["ok"] for record in records), "edgeops run: not all ok"
        figures.append(elapsed)
    return statistics.median(figures)


NORNIR_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from nornir import InitNornir
    from nornir_scrapli.tasks import send_command
    folder, command = sys.argv[1], sys.argv[2]
    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": 20}},
        inventory={"plugin": "SimpleInventory", "options": {
            "host_file": folder + "/hosts.yaml", "group_file": folder + "/groups.yaml",
            "defaults_file": folder + "/defaults.yaml"}},
        logging={"enabled": False},
    )
    result = nr.run(task=send_command, command=command)
    nr.close_connections()
    failed = sorted(name for name, host in result.items() if host.failed)
    print(json.dumps({"hosts": len(result), "failed": failed}))
    """
)

NETMIKO_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from netmiko import ConnectHandler
    hosts, command = json.load(open(sys.argv[1])), sys.argv[2]
    failed = []
    for host in hosts:
        try:
            with ConnectHandler(
                device_type=host["device_type"], host=host["host"], port=host["port"], username=host["username"],
                password=host["password"], allow_agent=False, use_keys=False, ssh_config_file=None,
            ) as connection:
                connection.send_command(command)
        except Exception as error:
            failed.append(host["name"] + ": " + repr(error)[:200])
    print(json.dumps({"hosts": len(hosts), "failed": failed}))
    """
)


def compare_python(venv: Path) -> Path:
    """The benchmark's own virtualenv with Nornir, nornir-scrapli and Netmiko; created on first use."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with {', '.join(COMPARE_PACKAGES)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *COMPARE_PACKAGES], check=True)
    return python


def compare_versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({n: m.version(n) for n in ('nornir', 'nornir_scrapli', 'scrapli', 'netmiko', 'paramiko')}))"
    )
    return json.loads(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout)


def write_nornir_inventory(folder: Path, hosts: list[dict[str, Any]], transport: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for host in hosts:
        lines += [
            f"{host['name']}:",
            f"  hostname: {host['host']}",
            f"  port: {host['port']}",
            f"  username: {host['username']}",
            f"  password: {json.dumps(host['password'])}",
            f"  platform: {SCRAPLI_PLATFORM[host['platform']]}",
            "  connection_options:",
            "    scrapli:",
            "      extras:",
            "        auth_strict_key: false",
            "        ssh_config_file: false",
            f"        transport: {transport}",
        ]
    (folder / "hosts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "groups.yaml").write_text("---\n{}\n", encoding="utf-8")
    (folder / "defaults.yaml").write_text("---\n{}\n", encoding="utf-8")


def cold_nornir(
    python: Path, hosts: list[dict[str, Any]], command: str, repeat: int, work: Path, transport: str
) -> float:
    folder = work / "nornir"
    write_nornir_inventory(folder, hosts, transport)
    figures = []
    for _ in range(repeat):
        elapsed, out, _ = timed([str(python), "-c", NORNIR_SCRIPT, str(folder), command], cwd=folder)
        report = json.loads(out.strip().splitlines()[-1])
        assert report["hosts"] == len(hosts) and not report["failed"], f"nornir: failed on {report['failed'][:5]}"
        figures.append(elapsed)
    return statistics.median(figures)


def cold_netmiko(python: Path, hosts: list[dict[str, Any]], command: str, work: Path) -> float:
    path = work / "netmiko-hosts.json"
    rows = [host | {"device_type": NETMIKO_DEVICE_TYPE[host["platform"]]} for host in hosts]
    path.write_text(json.dumps(rows), encoding="utf-8")
    os.chmod(path, 0o600)
    elapsed, out, _ = timed([str(python), "-c", NETMIKO_SCRIPT, str(path), command], cwd=work)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["hosts"] == len(hosts) and not report["failed"], f"netmiko: failed on {report['failed'][:5]}"
    return elapsed


# -- main ---------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200, help="lab devices (default 200)")
    parser.add_argument("--command", default="show version", help="the command every tool sends")
    parser.add_argument("--repeat", type=int, default=3, help="runs per warm fan-out and cold edgeops/Nornir figure")
    parser.add_argument("--rtt-samples", type=int, default=30, help="samples of the single-device round trip")
    parser.add_argument("--address-block", type=int, default=88, help="the lab listens on 127.N.x.y (default 88)")
    parser.add_argument("--compare-venv", type=Path, default=DEFAULT_COMPARE_VENV, help="virtualenv for the others")
    parser.add_argument(
        "--nornir-transport", default="system", help="scrapli transport for Nornir (default: scrapli's, system)"
    )
    parser.add_argument("--skip-compare", action="store_true", help="only the edgeops figures")
    parser.add_argument("--skip-netmiko", action="store_true", help="leave out serial Netmiko (minutes at 200)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures: dict[str, Any] = {"devices": args.devices, "command": args.command}
    with tempfile.TemporaryDirectory(prefix="edgeops-fanout-") as temp:
        work = Path(temp)
        context = mp.get_context("spawn")
        parent, child = context.Pipe()
        lab = context.Process(target=serve_lab, args=(args.devices, args.address_block, str(work / "lab"), child))
        lab.start()
        try:
            if not parent.poll(120):
                raise SystemExit("the lab did not start within 120 s")
            info = parent.recv()
            figures |= asyncio.run(
                warm_figures(info["inventory"], args.command, args.rtt_samples, args.repeat, work / "warm")
            )
            figures["cold_edgeops_s"] = cold_edgeops(info["inventory"], args.command, args.devices, args.repeat, work)
            if not args.skip_compare:
                python = compare_python(args.compare_venv)
                figures["versions"] = compare_versions(python)
                figures["nornir_transport"] = args.nornir_transport
                figures["cold_nornir_s"] = cold_nornir(
                    python, info["hosts"], args.command, args.repeat, work, args.nornir_transport
                )
                if not args.skip_netmiko:
                    figures["cold_netmiko_serial_s"] = cold_netmiko(python, info["hosts"], args.command, work)
        finally:
            parent.send("stop")
            lab.join(30)
            if lab.is_alive():
                lab.terminate()
    goal = 1.5 * figures["single_rtt_s"] + 0.050
    figures["warm_goal_s"] = goal
    figures["warm_goal_met"] = figures["warm_fanout_s"] <= goal
    if "cold_nornir_s" in figures:
        figures["nornir_over_edgeops"] = figures["cold_nornir_s"] / figures["cold_edgeops_s"]
    if args.json:
        print(
            json.dumps({key: round(value, 4) if isinstance(value, float) else value for key, value in figures.items()})
        )
    else:
        for key, value in figures.items():
            print(f"{key:24} {value:.4f}" if isinstance(value, float) else f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
