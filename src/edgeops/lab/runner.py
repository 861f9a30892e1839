"""The lab runner: builds the simulated devices and serves them over SSH and gNMI, with jump host and fault control."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import random
import resource
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from edgeops.lab.control import ControlServer, FaultController
from edgeops.lab.device import LabDevice
from edgeops.lab.model import DeviceIdentity, DeviceModel
from edgeops.lab.servers.hostkeys import KNOWN_HOSTS_FILE, HostKeyStore
from edgeops.lab.servers.jump import JUMP_HOST_NAME, JumpHostInfo, JumpHostServer
from edgeops.lab.servers.ssh import Endpoint, EngineFactory, LabSshServer, default_engine_factory, unix_socket_dir
from edgeops.lab.topology import DEMO_SITES, LAB_PASSWORD, LabSite, build_fleet, older_release, synthetic_sites

log = logging.getLogger(__name__)

FALLBACK_SSH_PORT = 2222  # where SSH listens when port 22 cannot be bound (not root)
STATE_FILE = "lab.json"
GNMI_TLS_MODES = ("insecure", "tls")
# Open files beyond the listeners: sessions, the control socket, gRPC's own, the interpreter's.
FILES_RESERVED = 128


def can_bind_port(port: int) -> bool:
    """Whether this process may listen on `port`: root, or a port above the privileged range."""
    if port >= 1024 or os.geteuid() == 0:
        return True
    try:
        first_unprivileged = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return False
    return port >= first_unprivileged


def default_ssh_port() -> int:
    """22 where it can be bound, otherwise the fixed fallback 2222."""
    return 22 if can_bind_port(22) else FALLBACK_SSH_PORT


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit (each device holds listeners and sessions)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


@dataclass(frozen=True)
class LabStatus:
    devices: int
    ssh_connections: int
    ssh_sessions: int
    gnmi_streams: int

    def line(self) -> str:
        return (
            f"{self.devices} devices · {self.ssh_sessions} SSH sessions ({self.ssh_connections} connections)"
            f" · {self.gnmi_streams} gNMI streams"
        )


def sites_of(identities: Iterable[DeviceIdentity]) -> list[LabSite]:
    """The sites the identities belong to, in order, described as in the demo fleet where known."""
    known = {site.code: site for site in DEMO_SITES}
    seen: dict[str, LabSite] = {}
    for identity in identities:
        if identity.site not in seen:
            demo = known.get(identity.site)
            seen[identity.site] = demo or LabSite(identity.site, identity.site_name, "Lab site")
    return list(seen.values())


def _jump_address_for(identities: Sequence[DeviceIdentity]) -> str:
    """127.<b>.0.1 next to the devices' 127.<b>.<site>.<n> block (sites are numbered from 1, so .0 is free)."""
    octets = identities[0].host.split(".") if identities else []
    second = octets[1] if len(octets) == 4 and octets[0] == "127" else "10"
    return f"127.{second}.0.1"


class Lab:
    """A running device lab: one LabDevice per identity, served over SSH (and gNMI), with fault control.

    Ports: `ssh_port`/`gnmi_port` override every device's; by default a device keeps its identity's ports,
    except that SSH port 22 becomes 2222 when this process cannot bind it. In `jump_only` mode the devices do
    not listen on their inventory addresses at all: they are served on Unix sockets that only the jump host
    forwards to, so a client can reach them only through the jump host.
    """

    def __init__(
        self,
        identities: Sequence[DeviceIdentity],
        *,
        lab_dir: Path,
        seed: int = 1,
        jump_only: bool = False,
        ssh_port: int | None = None,
        gnmi_port: int | None = None,
        gnmi_tls: str = "insecure",
        clock: Callable[[], float] = time.time,
        jump_host: bool = False,
        jump_address: str | None = None,
        jump_port: int | None = None,
        engine_factory: EngineFactory = default_engine_factory,
        gnmi: bool = True,
    ) -> None:
        if gnmi_tls not in GNMI_TLS_MODES:
            raise ValueError(f"gnmi_tls must be one of {', '.join(GNMI_TLS_MODES)}, not {gnmi_tls!r}")
        names = [identity.name for identity in identities]
        if len(set(names)) != len(names):
            raise ValueError("device names in a lab must be unique")
        self.lab_dir = Path(lab_dir)
        self.seed = seed
        self.clock = clock
        self.jump_only = jump_only
        self.gnmi_tls = gnmi_tls
        self.engine_factory = engine_factory
        self.gnmi_enabled = gnmi
        self.identities = [self._with_ports(identity, ssh_port, gnmi_port) for identity in identities]
        self.devices: dict[str, LabDevice] = {
            identity.name: LabDevice(identity, DeviceModel(identity, seed=seed, clock=clock))
            for identity in self.identities
        }
        self.sites = sites_of(self.identities)
        self._want_jump = jump_host or jump_only
        self._jump_address = jump_address or _jump_address_for(self.identities)
        self._jump_port = jump_port or (ssh_port if ssh_port is not None else default_ssh_port())
        self.host_keys: HostKeyStore | None = None
        self.ssh: LabSshServer | None = None
        self.jump_server: JumpHostServer | None = None
        self.gnmi_server: Any = None
        self.controller = FaultController(self.devices)
        self.control: ControlServer | None = None
        self.runtime_dir: Path | None = None
        self.ssh_endpoints: dict[str, Endpoint] = {}
        self.gnmi_endpoints: dict[str, Endpoint] = {}
        self.incidents: list[str] = []
        self.started_at: float | None = None
        self._owns_runtime_dir = False

    @staticmethod
    def _with_ports(identity: DeviceIdentity, ssh_port: int | None, gnmi_port: int | None) -> DeviceIdentity:
        ssh = ssh_port if ssh_port is not None else identity.ssh_port
        if ssh_port is None and not can_bind_port(ssh):
            ssh = FALLBACK_SSH_PORT
        gnmi = gnmi_port if gnmi_port is not None else identity.gnmi_port
        return dataclasses.replace(identity, ssh_port=ssh, gnmi_port=gnmi)

    # -- what others read -----------------------------------------------------------------------------

    @property
    def jump(self) -> JumpHostInfo | None:
        return self.jump_server.info if self.jump_server is not None else None

    @property
    def control_socket(self) -> Path | None:
        return self.control.path if self.control is not None else None

    @property
    def known_hosts_file(self) -> Path:
        return self.lab_dir / KNOWN_HOSTS_FILE

    @property
    def client_key_file(self) -> Path:
        """A private key every lab device (and the jump host) accepts: `ssh -i FILE admin@DEVICE`."""
        assert self.host_keys is not None, "the lab is not started"
        return self.host_keys.client_key_file

    @property
    def gnmi_ca_file(self) -> Path | None:
        """The CA a gNMI client trusts in "tls" mode (None in insecure mode or without a gNMI server)."""
        ca = getattr(self.gnmi_server, "ca_file", None)
        return Path(ca) if ca else None

    def device(self, name: str) -> LabDevice:
        return self.devices[name]

    def status(self) -> LabStatus:
        ssh = self.ssh
        return LabStatus(
            devices=len(self.devices),
            ssh_connections=ssh.connections_open if ssh else 0,
            ssh_sessions=ssh.sessions_open if ssh else 0,
            gnmi_streams=sum(len(device.faults.gnmi_closers) for device in self.devices.values()),
        )

    # -- lifecycle ------------------------------------------------------------------------------------

    async def __aenter__(self) -> Lab:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self.started_at is not None:
            raise RuntimeError("the lab is already started")
        self._check_open_file_limit()
        self.lab_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._refuse_if_running()
        self.started_at = time.time()
        try:
            await self._start_servers()
        except BaseException:
            await self.stop()
            raise
        log.info("lab started: %d devices in %s", len(self.devices), self.lab_dir)

    def _check_open_file_limit(self) -> None:
        """Each device holds a listener per protocol: say so plainly rather than fail on the Nth bind."""
        soft, _ = raise_open_file_limit()
        needed = len(self.devices) * (2 if self.gnmi_enabled else 1) + FILES_RESERVED
        if soft != resource.RLIM_INFINITY and soft < needed:
            raise OSError(
                errno.EMFILE,
                f"{len(self.devices)} devices need about {needed} open files, but this process may open {soft}"
                " (raise it with `ulimit -n`, or run fewer devices)",
            )

    def _refuse_if_running(self) -> None:
        """Two labs in one directory would share a control socket and host keys' known_hosts: refuse."""
        state = read_lab_state(self.lab_dir)
        if not state:
            return
        pid = state.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and _process_alive(pid):
            raise RuntimeError(f"a lab (pid {pid}) is already running in {self.lab_dir}")

    async def _start_servers(self) -> None:
        self.host_keys = HostKeyStore(self.lab_dir / "ssh")
        runtime = unix_socket_dir(self.lab_dir / "run")
        self._owns_runtime_dir = runtime != self.lab_dir / "run"
        self.runtime_dir = runtime
        for index, identity in enumerate(self.identities):
            if self.jump_only:
                self.ssh_endpoints[identity.name] = Endpoint(path=str(runtime / f"{index}.ssh"))
            else:
                self.ssh_endpoints[identity.name] = Endpoint(identity.host, identity.ssh_port)
        self.ssh = LabSshServer(
            self.devices.values(),
            self.host_keys,
            endpoints=self.ssh_endpoints,
            engine_factory=self.engine_factory,
            client_keys=[self.host_keys.client_public_key()],
            user_ca_keys=[self.host_keys.user_ca_public_key()],
        )
        self.controller.ssh = self.ssh
        await self.ssh.start()
        if self.gnmi_enabled:
            await self._start_gnmi()
        if self._want_jump:
            await self._start_jump_host()
        self.control = ControlServer(self.controller, runtime / "control.sock", self._status_dict)
        await self.control.start()
        self._write_known_hosts()
        self._write_state()

    async def _start_gnmi(self) -> None:
        """Start gNMI (edgeops.lab.servers.gnmi) for every device.

        Normally each device serves gNMI on its inventory address and port. In jump-only mode each serves it
        on its own address but on a free port that appears in no inventory; the jump host maps the inventory
        port to it, so clients reach gNMI only through the jump host (gRPC could also listen on Unix sockets,
        but GnmiLabServer binds the device's address).
        """
        try:
            from edgeops.lab.servers.gnmi import GnmiLabServer
        except ModuleNotFoundError as error:
            if error.name != "edgeops.lab.servers.gnmi":
                raise
            log.warning("this build has no gNMI server: the lab serves SSH only")
            return
        server = GnmiLabServer(
            list(self.devices.values()),
            tls_dir=self.lab_dir / "gnmi-tls" if self.gnmi_tls == "tls" else None,
            port_override=0 if self.jump_only else None,
        )
        self.gnmi_server = server
        await server.start()
        for name in self.devices:
            host, port = server.address(name)
            self.gnmi_endpoints[name] = Endpoint(host, port)

    async def _start_jump_host(self) -> None:
        assert self.host_keys is not None
        routes: dict[tuple[str, int], Endpoint] = {}
        for identity in self.identities:
            targets = [(identity.ssh_port, self.ssh_endpoints[identity.name])]
            if identity.name in self.gnmi_endpoints:
                targets.append((identity.gnmi_port, self.gnmi_endpoints[identity.name]))
            for port, endpoint in targets:
                # Clients may name the device or give its address, as with `ssh -J jump admin@alcala-leaf1`.
                routes[(identity.host, port)] = endpoint
                routes[(identity.name, port)] = endpoint
        if any(identity.host == self._jump_address for identity in self.identities):
            raise ValueError(f"the jump host address {self._jump_address} is also a device's address")
        self.jump_server = JumpHostServer(
            host=self._jump_address,
            port=self._jump_port,
            host_key=self.host_keys.host_key(JUMP_HOST_NAME),
            routes=routes,
            password=LAB_PASSWORD,
            client_keys=(self.host_keys.client_public_key(),),
        )
        await self.jump_server.start()

    async def stop(self) -> None:
        """Close every listener and session; safe to call twice and after a failed start."""
        if self.control is not None:
            await self.control.stop()
        await self.controller.close()
        if self.jump_server is not None:
            await self.jump_server.stop()
        if self.gnmi_server is not None:
            with contextlib.suppress(Exception):
                await self.gnmi_server.stop()
            self.gnmi_server = None
        if self.ssh is not None:
            await self.ssh.stop()
        if self.started_at is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.lab_dir / STATE_FILE).unlink()
        if self.runtime_dir is not None and self._owns_runtime_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
        self.started_at = None

    # -- files ----------------------------------------------------------------------------------------

    def _write_known_hosts(self) -> None:
        assert self.host_keys is not None
        entries = [
            (identity.host, identity.ssh_port, identity.name, self.devices[identity.name].faults.hostkey_generation)
            for identity in self.identities
        ]
        if self.jump_server is not None:
            entries.append((self.jump_server.endpoint.host, self.jump_server.endpoint.port, JUMP_HOST_NAME, 0))
        self.host_keys.write_known_hosts(self.known_hosts_file, entries)

    def _status_dict(self) -> dict[str, Any]:
        status = dataclasses.asdict(self.status())
        if self.jump_server is not None:
            stats = self.jump_server.stats
            status["jump"] = {"connections": stats.connections, "forwarded_channels": stats.forwarded_channels}
        return status

    def _write_state(self) -> None:
        jump = self.jump
        state: dict[str, Any] = {
            "pid": os.getpid(),
            "devices": len(self.devices),
            "control_socket": str(self.control_socket),
            "jump_only": self.jump_only,
            "jump": {"host": jump.host, "port": jump.port, "username": jump.username} if jump else None,
            "known_hosts": str(self.known_hosts_file),
        }
        path = self.lab_dir / STATE_FILE
        path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        os.chmod(path, 0o600)

    def write_targets(self, path: Path) -> Path:
        """A JSON array with one object per device, for other tools and scripts (mode 0600)."""
        from edgeops.lab.inventory_out import write_targets

        return write_targets(self, Path(path))

    def inventory(self) -> Any:
        """This lab as an edgeops Inventory, ready for the console without a file."""
        from edgeops.lab.inventory_out import lab_inventory

        return lab_inventory(self)

    # -- faults ---------------------------------------------------------------------------------------

    async def inject(self, device_name: str, kind: str, **params: object) -> str:
        """Apply a fault from faults.FAULT_KINDS to one device (see control.FAULT_PARAMS for parameters)."""
        return await self.controller.inject(device_name, kind, **params)

    async def clear(self, device_name: str) -> str:
        return await self.controller.clear(device_name)

    def apply_demo_incidents(self) -> list[str]:
        """Make the fleet lively: a failed power supply, a hot leaf, and a few ports down with alarms."""
        self.incidents = apply_demo_incidents(self.devices, seed=self.seed)
        return self.incidents


def read_lab_state(lab_dir: Path) -> dict[str, Any]:
    """The state file a running lab keeps in its directory (empty when none is running there)."""
    try:
        state = json.loads((Path(lab_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- demo incidents ----------------------------------------------------------------------------------

PSU_INCIDENT_DEVICE = "bilbao-gw2"
CPU_INCIDENT_DEVICE = "valencia-leaf2"


def _pick(devices: dict[str, LabDevice], preferred: str, role: str) -> LabDevice | None:
    if preferred in devices:
        return devices[preferred]
    same_role = [device for device in devices.values() if device.identity.role == role]
    return same_role[len(same_role) // 2] if same_role else None


def _port_down_text(device: LabDevice, port: str) -> str:
    if device.identity.platform.is_sros:
        return f"Port {port} is operationally down"
    return f"Interface {port} is down, reason lower-layer-down"


def apply_demo_incidents(devices: dict[str, LabDevice], *, seed: int = 1) -> list[str]:
    """The demo's standing incidents; deterministic for a fleet and seed. Returns one line per incident."""
    incidents: list[str] = []
    gateway = _pick(devices, PSU_INCIDENT_DEVICE, "gateway")
    if gateway is not None:
        psu = len(gateway.model.power_supplies)
        gateway.model.fail_power_supply(psu)
        incidents.append(f"{gateway.name}: power supply {psu} failed (major alarm)")
    leaf = _pick(devices, CPU_INCIDENT_DEVICE, "leaf")
    if leaf is not None:
        leaf.model.cpu_spike(pct=93.0, seconds=10 * 365 * 86_400.0)
        leaf.model.raise_alarm("warning", "control A", "CPU utilisation above 90 % for more than 5 minutes", "cpu-high")
        incidents.append(f"{leaf.name}: CPU above 90 % (warning alarm)")
    # A port down here and there: the flagship site always has one, and about one device in twenty elsewhere.
    rng = random.Random(f"incidents:{seed}")
    candidates = sorted(devices)
    flagship = [name for name in candidates if name.startswith(f"{DEMO_SITES[0].code}-")]
    chosen = set(rng.sample(candidates, max(1, len(candidates) // 20)))
    if flagship:
        chosen.add(flagship[min(2, len(flagship) - 1)])
    for name in sorted(chosen):
        device = devices[name]
        ports = [
            iface.name
            for iface in device.model.interfaces.values()
            if iface.passing_traffic and iface.name not in ("mgmt0", "A/1")
        ]
        if not ports:
            continue
        port = rng.choice(ports)
        device.model.set_oper_state(port, False)
        device.model.raise_alarm("major", port, _port_down_text(device, port), f"link-down-{port}")
        incidents.append(f"{name}: {port} down (major alarm)")
    return incidents


DEFAULT_ADDRESS_BLOCK = 10  # the topology puts devices at 127.10.<site>.<n>


def relocate(identities: Iterable[DeviceIdentity], block: int) -> list[DeviceIdentity]:
    """Move devices from the topology's 127.10.<site>.<n> to 127.<block>.<site>.<n> (so two labs never collide).

    Devices past the 250th of a site sit in 127.11.x.y and move along to 127.<block + 1>.x.y.
    """
    moved = []
    for identity in identities:
        first, second, third, fourth = identity.host.split(".")
        shifted = block + int(second) - DEFAULT_ADDRESS_BLOCK
        if first != "127" or not 1 <= shifted <= 254:
            raise ValueError(f"cannot move {identity.host} to the 127.{block} block")
        moved.append(dataclasses.replace(identity, host=f"127.{shifted}.{third}.{fourth}"))
    return moved


def select_sites(spec: int | str | Sequence[str] | Sequence[LabSite] | None) -> tuple[LabSite, ...]:
    """Sites from a count (the demo sites first, numbered extra sites beyond 17), site codes, or LabSites."""
    if spec is None:
        return DEMO_SITES
    if isinstance(spec, int):
        if spec < 1:
            raise ValueError("a lab needs at least one site")
        return synthetic_sites(spec)
    if isinstance(spec, str):
        spec = [code.strip() for code in spec.split(",") if code.strip()]
    sites: list[LabSite] = []
    known = {site.code: site for site in DEMO_SITES}
    for item in spec:
        if isinstance(item, LabSite):
            sites.append(item)
        elif item in known:
            sites.append(known[item])
        else:
            raise ValueError(f"unknown site {item!r}; demo sites: {', '.join(known)}")
    if not sites:
        raise ValueError("a lab needs at least one site")
    return tuple(sites)


async def start_demo_lab(
    lab_dir: Path,
    *,
    sites: int | str | Sequence[str] | Sequence[LabSite] | None = None,
    devices_per_site: int = 8,
    seed: int = 1,
    jump_only: bool = False,
    ssh_port: int | None = None,
    gnmi_port: int | None = None,
    gnmi_tls: str = "insecure",
    incidents: bool = True,
    address_block: int = DEFAULT_ADDRESS_BLOCK,
    older_releases: Mapping[str, Sequence[str]] | None = None,
) -> Lab:
    """Start the demo fleet (by default the 17 sites, 8 devices each) with its incidents; the caller stops it.

    `older_releases`: device name -> path prefixes that device's (older) release does not serve over gNMI.
    """
    identities = build_fleet(select_sites(sites), devices_per_site, seed=seed)
    if older_releases:
        unknown = sorted(set(older_releases) - {identity.name for identity in identities})
        if unknown:
            raise ValueError(f"--older-release: no lab device named {', '.join(unknown)}")
        identities = [
            older_release(identity, older_releases[identity.name]) if identity.name in older_releases else identity
            for identity in identities
        ]
    if address_block != DEFAULT_ADDRESS_BLOCK:
        identities = relocate(identities, address_block)
    lab = Lab(
        identities,
        lab_dir=lab_dir,
        seed=seed,
        jump_only=jump_only,
        ssh_port=ssh_port,
        gnmi_port=gnmi_port,
        gnmi_tls=gnmi_tls,
        jump_host=True,
    )
    await lab.start()
    if incidents:
        lab.apply_demo_incidents()
    return lab
