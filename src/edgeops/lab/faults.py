"""Fault injection: what is currently wrong with a simulated device, as its servers see it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

FAULT_KINDS = (
    "ssh-drop",  # close every SSH session now
    "ssh-drop-mid-command",  # the next command prints part of its output, then the connection drops
    "ssh-hang",  # accept SSH connections, never answer
    "ssh-slow",  # add latency (seconds) before every answer
    "ssh-flood",  # the next command prints N MiB of output and never a prompt
    "ssh-refuse",  # refuse new SSH connections
    "auth-reject",  # reject every login
    "hostkey-change",  # serve a different host key from now on
    "gnmi-cut",  # abort every gNMI stream now
    "gnmi-stall",  # keep streams open, send nothing
    "gnmi-refuse",  # refuse gNMI (UNAVAILABLE)
    "gnmi-reject",  # refuse Subscribe calls naming a path under a prefix (INVALID_ARGUMENT, NOT_FOUND...)
    "port-flap",  # take a port down, and up again after a delay
    "counter-reset",  # reboot: counters to zero, fresh uptime
    # An alarm about a resource: on SR OS an entry of its alarm list; SR Linux keeps no alarm list, so there the
    # resource's state shows it (an interface goes down, a power supply or fan tray fails, a linecard or the control
    # module overheats: DeviceModel.raise_alarm), and clients derive the alarm from that state.
    "alarm-raise",
    "alarm-clear",
    "cpu-spike",
    "hostile-text",  # ANSI/OSC escapes and markup in descriptions and command output
)

# Text a hostile or broken device might send: colour, cursor movement, an OSC 52 clipboard write,
# a window title change, and Rich/Textual markup. A console must show all of it inert.
HOSTILE_DESCRIPTION = (
    "[red]PWNED[/red] \x1b[31mred\x1b[0m \x1b]52;c;ZWNobyBoYWNrZWQ=\x07 \x1b]0;title\x07 \x1b[2J\x1b[H [bold]x[/]"
)


@dataclass
class FaultState:
    """Flags the SSH and gNMI servers consult on every connection and command.

    Servers register closers for their live sessions and streams so a fault can end them at once.
    """

    ssh_hang: bool = False
    ssh_refuse: bool = False
    ssh_latency_s: float = 0.0
    ssh_drop_mid_command: bool = False
    ssh_flood_bytes: int = 0  # ssh-flood: how much the next command prints (no prompt after it); 0 = off
    auth_reject: bool = False
    hostkey_generation: int = 0  # bumped by hostkey-change; the SSH server picks the matching key
    gnmi_stall: bool = False
    gnmi_refuse: bool = False
    # gnmi-reject: path prefix -> the gRPC status a Subscribe naming a path under it is refused with
    # ("invalid-argument", "not-found", "unimplemented"). Open streams carry on; new calls are refused.
    gnmi_rejects: dict[str, str] = field(default_factory=dict)
    hostile_text: bool = False
    ssh_closers: set[Callable[[], None]] = field(default_factory=set)
    gnmi_closers: set[Callable[[], None]] = field(default_factory=set)
    # Counts of what the servers saw, so tests can prove a fault was observed.
    ssh_connections: int = 0
    gnmi_streams_opened: int = 0
    gnmi_subscribes_rejected: int = 0  # Subscribe calls refused for a path (gnmi-reject, an older release)

    def drop_ssh(self) -> int:
        closers = list(self.ssh_closers)
        for close in closers:
            close()
        return len(closers)

    def cut_gnmi(self) -> int:
        closers = list(self.gnmi_closers)
        for close in closers:
            close()
        return len(closers)

    def clear(self) -> None:
        """Back to a healthy device (the host key generation is kept: a changed key stays changed)."""
        self.ssh_hang = self.ssh_refuse = self.ssh_drop_mid_command = self.auth_reject = False
        self.gnmi_stall = self.gnmi_refuse = self.hostile_text = False
        self.gnmi_rejects.clear()
        self.ssh_latency_s = 0.0
        self.ssh_flood_bytes = 0
