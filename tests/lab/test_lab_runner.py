"""The lab runner: lifecycle, ports, inventory and targets files, fault control (Python and socket), `edgeops lab`."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import socket
import stat
import sys
from pathlib import Path

import asyncssh
import pytest

from edgeops.cli.lab import write_lab_inventory
from edgeops.inventory.loader import load_inventory
from edgeops.lab import runner
from edgeops.lab.control import FaultError, resolve_params
from edgeops.lab.faults import FAULT_KINDS, HOSTILE_DESCRIPTION
from edgeops.lab.runner import Lab, apply_demo_incidents, relocate, select_sites, start_demo_lab
from edgeops.lab.topology import DEMO_SITES, build_fleet
from edgeops.platforms import GnmiTls

pytestmark = pytest.mark.lab


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _eventually(check, seconds: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


# -- lifecycle and ports ----------------------------------------------------------------------------------


async def test_lab_starts_stops_and_frees_every_address(lab_factory):
    lab = await lab_factory(devices_per_site=4, jump_host=True)
    identity = lab.devices["alcala-spine1"].identity
    assert (lab.lab_dir / "lab.json").exists()
    assert json.loads((lab.lab_dir / "lab.json").read_text())["control_socket"] == str(lab.control_socket)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == hard or hard == resource.RLIM_INFINITY
    await lab.stop()
    for host, port in ((identity.host, identity.ssh_port), (lab.jump.host, lab.jump.port)):
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex((host, port)) != 0, f"{host}:{port} still listening"
    assert not (lab.lab_dir / "lab.json").exists()
    assert not lab.control_socket.exists()
    await lab.stop()  # twice is harmless


async def test_a_long_lab_directory_still_gets_its_sockets(lab_factory, lab_ssh, tmp_path):
    # Unix socket paths are limited to about 100 bytes; the lab moves its sockets to a short folder then.
    lab_dir = tmp_path / ("deep-" * 20) / "lab"
    lab = await lab_factory(lab_dir=lab_dir, jump_only=True, devices_per_site=4, gnmi=False)
    assert len(str(lab.control_socket)) < 100 and lab.control_socket.exists()
    jump = lab.jump
    async with (
        asyncssh.connect(
            jump.host, jump.port, username=jump.username, password=jump.password, known_hosts=None
        ) as tunnel,
        lab_ssh.connect(lab, "alcala-gw2", tunnel=tunnel) as conn,
    ):
        assert "TiMOS-" in (await conn.run("show version", check=False)).stdout
    runtime_dir = lab.runtime_dir
    await lab.stop()
    assert runtime_dir is not None and not runtime_dir.exists()


async def test_a_busy_address_fails_the_start_and_closes_the_rest(lab_factory, make_lab_identities, tmp_path):
    identities = make_lab_identities(devices_per_site=4)
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind((identities[2].host, 2222))
    blocker.listen()
    try:
        with pytest.raises(OSError, match=identities[2].name):
            await lab_factory(identities=identities, gnmi=False)
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex((identities[0].host, 2222)) != 0
    finally:
        blocker.close()


async def test_a_second_lab_in_the_same_directory_is_refused(make_lab_identities, tmp_path):
    lab_dir = tmp_path / "lab"
    lab_dir.mkdir()
    (lab_dir / "lab.json").write_text(json.dumps({"pid": os.getppid(), "control_socket": "x"}))
    with pytest.raises(RuntimeError, match="already running"):
        await Lab(make_lab_identities(), lab_dir=lab_dir, ssh_port=2222, gnmi=False).start()


async def test_too_low_an_open_file_limit_is_reported_plainly(make_lab_identities, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "raise_open_file_limit", lambda: (100, 100))
    with pytest.raises(OSError, match=r"need about \d+ open files, but this process may open 100"):
        await Lab(make_lab_identities(sites=3, devices_per_site=20), lab_dir=tmp_path, ssh_port=2222).start()


def test_ssh_port_22_falls_back_to_2222_when_it_cannot_be_bound(monkeypatch, tmp_path):
    identities = build_fleet(DEMO_SITES[:1], 4, ssh_port=22)
    monkeypatch.setattr(runner, "can_bind_port", lambda port: port >= 1024)
    lab = Lab(identities, lab_dir=tmp_path, gnmi=False)
    assert {identity.ssh_port for identity in lab.identities} == {runner.FALLBACK_SSH_PORT}
    assert Lab(identities, lab_dir=tmp_path, ssh_port=2022).identities[0].ssh_port == 2022
    monkeypatch.setattr(runner, "can_bind_port", lambda port: True)
    assert Lab(identities, lab_dir=tmp_path).identities[0].ssh_port == 22


def test_relocate_and_select_sites():
    fleet = build_fleet(DEMO_SITES[:2], 3)
    moved = relocate(fleet, 150)
    assert [identity.host for identity in moved[:4]] == ["127.150.1.1", "127.150.1.2", "127.150.1.3", "127.150.2.1"]
    assert [site.code for site in select_sites("bilbao,alcala")] == ["bilbao", "alcala"]
    assert len(select_sites(20)) == 20 and select_sites(20)[0].code == "alcala"
    with pytest.raises(ValueError, match="unknown site"):
        select_sites("atlantis")


# -- inventory and targets --------------------------------------------------------------------------------


async def test_inventory_is_private_loads_and_matches_the_lab(lab, tmp_path):
    path = write_lab_inventory(lab, tmp_path / "out" / "inventory.yaml")
    assert mode_of(path) == 0o600
    inventory = load_inventory(path)
    assert [device.name for device in inventory.devices] == list(lab.devices)
    gw = inventory.device("alcala-gw1")
    identity = lab.devices["alcala-gw1"].identity
    assert (gw.host, gw.ssh_port, gw.gnmi_port, gw.platform.value) == (
        identity.host,
        identity.ssh_port,
        identity.gnmi_port,
        "sros",
    )
    assert gw.credentials.password is not None and gw.credentials.password.value == identity.password
    assert gw.gnmi_tls is GnmiTls.INSECURE and gw.jump is None
    assert inventory.site("alcala").name == "Tecno-Alcalá"
    # The file is the objects the demo uses without a file, written by inventory.dump: it loads back to them.
    objects = lab.inventory()
    assert inventory.without_provenance() == objects
    assert [d.explicit_fields for d in inventory.devices] == [d.explicit_fields for d in objects.devices]


async def test_edgeops_inventory_check_accepts_the_lab_inventory(lab, tmp_path):
    path = write_lab_inventory(lab, tmp_path / "inventory.yaml")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edgeops",
        "inventory",
        "check",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, (out + err).decode()


async def test_jump_only_inventory_names_the_jump_host(lab_factory, tmp_path):
    lab = await lab_factory(jump_only=True, devices_per_site=4, gnmi=False)
    inventory = load_inventory(write_lab_inventory(lab, tmp_path / "inventory.yaml"))
    jump = inventory.jump_host("lab-jump")
    assert (jump.host, jump.port) == (lab.jump.host, lab.jump.port)
    assert {device.jump for device in inventory.devices} == {"lab-jump"}
    objects = lab.inventory()
    assert inventory.without_provenance() == objects
    assert objects.jump_hosts[0].explicit_fields == jump.explicit_fields
    assert objects.devices[0].explicit_fields == inventory.devices[0].explicit_fields
    targets = json.loads(lab.write_targets(tmp_path / "targets.json").read_text())
    assert targets[0]["jump"]["host"] == lab.jump.host


async def test_tls_inventory_points_at_the_lab_ca(lab_factory, tmp_path):
    lab = await lab_factory(devices_per_site=4, gnmi_tls="tls")
    if lab.gnmi_server is None:
        pytest.skip("this build has no gNMI server")
    inventory = load_inventory(write_lab_inventory(lab, tmp_path / "inventory.yaml"))
    assert inventory.without_provenance() == lab.inventory()
    device = inventory.device("alcala-spine1")
    assert device.gnmi_tls is GnmiTls.TLS
    assert device.gnmi_ca_file is not None and device.gnmi_ca_file.read_text().startswith("-----BEGIN CERTIFICATE")
    assert json.loads(lab.write_targets(tmp_path / "targets.json").read_text())[0]["gnmi_tls"] == "tls"


async def test_targets_json_lists_every_device(lab, tmp_path):
    path = lab.write_targets(tmp_path / "targets.json")
    assert mode_of(path) == 0o600
    rows = json.loads(path.read_text())
    assert [row["name"] for row in rows] == list(lab.devices)
    expected_keys = {"name", "site", "role", "platform", "model", "host", "ssh_port", "gnmi_port"}
    expected_keys |= {"username", "password", "gnmi_tls"}
    for row in rows:
        assert expected_keys <= set(row)
        identity = lab.devices[row["name"]].identity
        assert (row["host"], row["ssh_port"], row["password"]) == (identity.host, identity.ssh_port, identity.password)
    assert {row["platform"] for row in rows} == {"srlinux", "sros"}


# -- fault control ----------------------------------------------------------------------------------------


async def test_every_fault_kind_can_be_injected_and_cleared(lab):
    name = "alcala-gw1"
    device = lab.devices[name]
    cut: list[str] = []
    device.faults.gnmi_closers.add(lambda: cut.append("stream"))
    for kind in FAULT_KINDS:
        assert isinstance(await lab.inject(name, kind), str)
    faults = device.faults
    assert faults.ssh_hang and faults.ssh_refuse and faults.auth_reject and faults.hostile_text
    assert faults.gnmi_stall and faults.gnmi_refuse and faults.hostkey_generation == 1
    assert faults.gnmi_rejects == {"/state/port/statistics": "invalid-argument"}
    assert cut, "gnmi-cut (and counter-reset) ran the registered stream closers"
    await lab.clear(name)
    assert not (faults.ssh_hang or faults.ssh_refuse or faults.auth_reject or faults.hostile_text)
    assert not (faults.gnmi_stall or faults.gnmi_refuse or faults.ssh_drop_mid_command or faults.gnmi_rejects)
    assert faults.ssh_latency_s == 0
    assert all(iface.description != HOSTILE_DESCRIPTION for iface in device.model.interfaces.values())
    assert device.model.cpu_pct() < 90


async def test_port_flap_goes_down_and_comes_back(lab):
    model = lab.devices["alcala-leaf1"].model
    flaps_before = model.interfaces["ethernet-1/1"].flaps
    result = await lab.inject("alcala-leaf1", "port-flap", port="ethernet-1/1", seconds=0.2)
    assert result == "ethernet-1/1 down for 0.2 s"
    assert not model.interfaces["ethernet-1/1"].oper_up
    assert await _eventually(lambda: model.interfaces["ethernet-1/1"].oper_up)
    assert model.interfaces["ethernet-1/1"].flaps == flaps_before + 1


async def test_alarms_cpu_and_counter_reset_change_the_model(lab):
    model = lab.devices["alcala-gw2"].model
    await lab.inject("alcala-gw2", "alarm-raise", severity="critical", text="Fan failed", resource="fan 1")
    assert [(a.severity, a.text) for a in model.alarms] == [("critical", "Fan failed")]
    await lab.inject("alcala-gw2", "cpu-spike", pct=97, seconds=30)
    assert model.cpu_pct() == 97
    octets_before = max(iface.counters.in_octets for iface in model.interfaces.values())
    await lab.inject("alcala-gw2", "counter-reset")
    model.advance()
    assert max(iface.counters.in_octets for iface in model.interfaces.values()) < octets_before
    assert model.uptime_s < 60
    await lab.clear("alcala-gw2")
    assert model.alarms == [] and model.cpu_pct() < 90


async def test_an_srlinux_alarm_shows_in_the_state_of_its_resource(lab):
    """SR Linux keeps no alarm list: alarm-raise puts the resource named in the state a real fault would."""
    model = lab.devices["alcala-leaf1"].model
    await lab.inject("alcala-leaf1", "alarm-raise", resource="power-supply 2", text="PSU 2 lost input")
    assert not model.power_supplies[1].oper_up
    await lab.inject("alcala-leaf1", "alarm-raise", resource="fan-tray 1")
    assert not model.fans[0].oper_up
    port = next(name for name, iface in model.interfaces.items() if iface.passing_traffic and name != "mgmt0")
    await lab.inject("alcala-leaf1", "alarm-raise", resource=port)
    assert not model.interfaces[port].oper_up
    # Anything else (the default resource is "system") overheats the control module; a linecard, the linecard.
    await lab.inject("alcala-leaf1", "alarm-raise")
    await lab.inject("alcala-leaf1", "alarm-raise", resource="linecard 1")
    assert model.temperature_alarm("A") and model.temperature_alarm("1")
    assert [alarm.effect for alarm in model.alarms] == [
        ("power-supply", "2"),
        ("fan-tray", "1"),
        ("interface", port),
        ("temperature", "A"),
        ("temperature", "1"),
    ]
    await lab.clear("alcala-leaf1")
    assert model.alarms == [] and model.power_supplies[1].oper_up and model.fans[0].oper_up
    assert model.interfaces[port].oper_up
    assert not model.temperature_alarm("A") and not model.temperature_alarm("1")


async def test_bad_fault_requests_say_what_is_wrong(lab):
    with pytest.raises(FaultError, match="no lab device"):
        await lab.inject("nowhere-leaf9", "ssh-drop")
    with pytest.raises(FaultError, match="unknown fault"):
        await lab.inject("alcala-leaf1", "ssh-explode")
    with pytest.raises(FaultError, match="takes no parameter colour"):
        await lab.inject("alcala-leaf1", "ssh-slow", colour="red")
    with pytest.raises(FaultError, match="no interface"):
        await lab.inject("alcala-leaf1", "port-flap", port="ethernet-9/9")
    with pytest.raises(FaultError, match="severity"):
        await lab.inject("alcala-leaf1", "alarm-raise", severity="apocalyptic")


def test_parameters_from_the_command_line_are_typed():
    assert resolve_params("port-flap", {"seconds": "2.5"}) == {"port": "", "seconds": 2.5}
    assert resolve_params("counter-reset", {"reboot": "yes"}) == {"reboot": True}
    assert resolve_params("hostile-text", {"ports": "2"}) == {"ports": 2}
    with pytest.raises(FaultError, match="must be a number"):
        resolve_params("cpu-spike", {"pct": "lots"})


async def _control(lab: Lab, request: dict | bytes) -> dict:
    reader, writer = await asyncio.open_unix_connection(str(lab.control_socket))
    writer.write(request if isinstance(request, bytes) else json.dumps(request).encode() + b"\n")
    await writer.drain()
    answer = json.loads(await asyncio.wait_for(reader.readline(), 10))
    writer.close()
    return answer


async def test_control_socket_injects_clears_and_reports(lab):
    assert mode_of(lab.control_socket) == 0o600
    faults = lab.devices["alcala-leaf1"].faults
    answer = await _control(lab, {"device": "alcala-leaf1", "fault": "ssh-slow", "seconds": "0.25"})
    assert answer == {"ok": True, "result": "SSH answers wait 0.25 s"}
    assert faults.ssh_latency_s == 0.25
    answer = await _control(lab, {"device": "alcala-leaf1", "fault": "cpu-spike", "params": {"pct": 88}})
    assert answer["ok"], answer
    assert (await _control(lab, {"device": "alcala-leaf1", "clear": True}))["ok"]
    assert faults.ssh_latency_s == 0
    status = (await _control(lab, {"command": "status"}))["result"]
    assert status["devices"] == len(lab.devices)
    assert (await _control(lab, {"command": "devices"}))["result"] == sorted(lab.devices)
    assert "port-flap" in (await _control(lab, {"command": "faults"}))["result"]
    assert (await _control(lab, {"device": "x", "fault": "ssh-drop"}))["error"] == "no lab device named 'x'"
    assert not (await _control(lab, b"{not json\n"))["ok"]
    assert not (await _control(lab, {"device": "alcala-leaf1"}))["ok"]


# -- demo incidents ---------------------------------------------------------------------------------------


def test_demo_incidents_fail_a_psu_heat_a_leaf_and_take_ports_down(tmp_path):
    identities = build_fleet(select_sites("alcala,valencia,bilbao"), 8)
    lab = Lab(identities, lab_dir=tmp_path, gnmi=False)
    incidents = lab.apply_demo_incidents()
    gateway = lab.devices["bilbao-gw2"].model
    assert [psu.oper_up for psu in gateway.power_supplies].count(False) == 1
    assert any(alarm.alarm_id.startswith("psu-") and alarm.severity == "major" for alarm in gateway.alarms)
    leaf = lab.devices["valencia-leaf2"].model
    assert leaf.cpu_pct() > 90 and any(alarm.severity == "warning" for alarm in leaf.alarms)
    flagship_down = [
        name
        for name, device in lab.devices.items()
        if name.startswith("alcala-") and any(a.alarm_id.startswith("link-down-") for a in device.model.alarms)
    ]
    assert flagship_down
    assert len(incidents) >= 3
    # Deterministic for a seed.
    again = Lab(identities, lab_dir=tmp_path, gnmi=False)
    assert apply_demo_incidents(again.devices, seed=1) == incidents


async def test_start_demo_lab_serves_the_demo_fleet(tmp_path, lab_ssh, lab_address_block):
    lab = await start_demo_lab(
        tmp_path / "demo",
        sites="alcala,bilbao",
        devices_per_site=4,
        seed=3,
        ssh_port=2222,
        address_block=lab_address_block,
    )
    try:
        assert list(lab.devices)[:4] == ["alcala-spine1", "alcala-spine2", "alcala-gw1", "alcala-gw2"]
        assert lab.devices["alcala-spine1"].identity.host == f"127.{lab_address_block}.1.1"
        assert lab.jump is not None and lab.jump.host == f"127.{lab_address_block}.0.1"
        assert any("bilbao-gw2: power supply" in incident for incident in lab.incidents)
        assert [name for name, device in lab.devices.items() if device.identity.unserved] == []
        result = await lab_ssh.run(lab, "bilbao-gw2", "show chassis")
        assert "alcala" not in result.stdout and "bilbao-gw2" in result.stdout
    finally:
        await lab.stop()


# -- `edgeops lab` as a process ---------------------------------------------------------------------------


async def _read_until(stream: asyncio.StreamReader, text: str, seconds: float = 60.0) -> str:
    async def read() -> str:
        seen = ""
        while text not in seen:
            line = await stream.readline()
            if not line:
                raise EOFError(f"edgeops lab exited before printing {text!r}:\n{seen}")
            seen += line.decode()
        return seen

    return await asyncio.wait_for(read(), seconds)


async def _edgeops(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edgeops", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_edgeops_lab_runs_answers_its_control_socket_and_stops_on_sigterm(tmp_path, lab_address_block):
    lab_dir = tmp_path / "lab"
    inventory, targets = tmp_path / "out" / "inventory.yaml", tmp_path / "out" / "targets.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edgeops",
        "lab",
        "--state-dir",
        str(tmp_path / "state"),
        "--log-dir",
        str(tmp_path / "logs"),
        "--sites",
        "2",
        "--devices-per-site",
        "4",
        "--address-block",
        str(lab_address_block),
        "--ssh-port",
        "2222",
        "--lab-dir",
        str(lab_dir),
        "--inventory-out",
        str(inventory),
        "--targets-out",
        str(targets),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = await _read_until(process.stdout, "stops the lab")
        assert "8 devices at 2 sites" in banner and str(inventory) in banner
        assert mode_of(inventory) == 0o600 and mode_of(targets) == 0o600
        assert len(load_inventory(inventory).devices) == 8
        host = f"127.{lab_address_block}.1.1"
        async with asyncssh.connect(
            host, 2222, username="admin", password="NokiaSrl1!", known_hosts=str(lab_dir / "known_hosts")
        ) as conn:
            assert "alcala-spine1" in (await conn.run("show version", check=False)).stdout
        code, out, err = await _edgeops("lab", "fault", "--lab-dir", str(lab_dir), "alcala-spine1", "ssh-refuse")
        assert code == 0, err
        with pytest.raises(ConnectionRefusedError):
            await asyncssh.connect(host, 2222, username="admin", password="NokiaSrl1!", known_hosts=None)
        code, out, err = await _edgeops("lab", "clear", "--lab-dir", str(lab_dir), "alcala-spine1")
        assert code == 0 and "healthy" in out, err
        code, out, err = await _edgeops("lab", "status", "--lab-dir", str(lab_dir))
        assert code == 0 and json.loads(out)["devices"] == 8, err
        code, out, err = await _edgeops("lab", "fault", "--lab-dir", str(lab_dir), "nowhere", "ssh-drop")
        assert code == 1 and "no lab device" in err
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex((host, 2222)) != 0
    assert not (lab_dir / "lab.json").exists()
    assert "alcala-spine1: inject ssh-refuse" in (tmp_path / "logs" / "lab.log").read_text()
    code, out, err = await _edgeops("lab", "clear", "--lab-dir", str(lab_dir), "alcala-spine1")
    assert code == 1 and "no lab is running" in err


async def test_edgeops_lab_exits_with_its_own_status_when_its_addresses_are_taken(tmp_path, lab_address_block):
    """The demo picks another address block on this status (4), so it must not be the generic failure (1)."""
    host = f"127.{lab_address_block}.1.1"
    with socket.socket() as taken:
        taken.bind((host, 2222))
        taken.listen()
        code, out, err = await _edgeops(
            "lab",
            "--state-dir",
            str(tmp_path / "state"),
            "--log-dir",
            str(tmp_path / "logs"),
            "--lab-dir",
            str(tmp_path / "lab"),
            "--sites",
            "1",
            "--devices-per-site",
            "1",
            "--address-block",
            str(lab_address_block),
            "--ssh-port",
            "2222",
        )
    assert code == 4, (out, err)
    assert "cannot listen" in err


async def test_start_demo_lab_leaves_named_devices_on_an_older_release(tmp_path, lab_address_block):
    from edgeops.cli.lab import older_releases

    wanted = older_releases(["alcala-spine1=/platform/linecard, /platform/fan-tray", "alcala-gw1=/state/card"])
    assert wanted == {"alcala-spine1": ("/platform/linecard", "/platform/fan-tray"), "alcala-gw1": ("/state/card",)}
    for bad in ("alcala-spine1", "=/platform", "alcala-spine1=platform"):
        with pytest.raises(ValueError, match="--older-release wants"):
            older_releases([bad])
    with pytest.raises(ValueError, match="no lab device named nowhere-leaf9"):
        await start_demo_lab(tmp_path / "bad", sites="alcala", older_releases={"nowhere-leaf9": ("/platform",)})
    lab = await start_demo_lab(
        tmp_path / "demo",
        sites="alcala",
        devices_per_site=4,
        ssh_port=2222,
        address_block=lab_address_block,
        incidents=False,
        older_releases=wanted,
    )
    try:
        spine, gateway = lab.devices["alcala-spine1"].identity, lab.devices["alcala-gw1"].identity
        assert (spine.version, spine.unserved) == ("v24.10.1", ("/platform/linecard", "/platform/fan-tray"))
        assert (gateway.version, gateway.unserved) == ("B-24.3.R2-1", ("/state/card",))
        assert lab.devices["alcala-spine2"].identity.unserved == ()
    finally:
        await lab.stop()


async def test_edgeops_lab_stops_when_its_standard_input_closes(tmp_path, lab_address_block):
    """The demo's lab (`--stop-on-eof`) stops itself when the console that started it is gone."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edgeops",
        "lab",
        "--stop-on-eof",
        "--state-dir",
        str(tmp_path / "state"),
        "--log-dir",
        str(tmp_path / "logs"),
        "--lab-dir",
        str(tmp_path / "lab"),
        "--sites",
        "1",
        "--devices-per-site",
        "1",
        "--address-block",
        str(lab_address_block),
        "--ssh-port",
        "2222",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        await _read_until(process.stdout, "stops the lab")
        process.stdin.close()
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert not (tmp_path / "lab" / "lab.json").exists()
