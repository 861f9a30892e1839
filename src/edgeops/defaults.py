"""Every default of how edgeops talks to a fleet, in one place: each layer's settings take their defaults from here."""

from __future__ import annotations

# Intervals at which a device samples (gNMI SAMPLE) or is polled (SSH, a device without usable gNMI).
COUNTER_INTERVAL_S = 2.0  # interface counters
HEALTH_INTERVAL_S = 10.0  # CPU, memory, temperatures, alarms...
SSH_POLL_INTERVAL_S = 15.0

# Data older than this many intervals is stale.
STALE_FACTOR = 3.0

# An SSH login (TCP, key exchange, authentication, the exec prompt) or a jump host connection.
CONNECT_TIMEOUT_S = 15.0
# A gNMI channel opened on its own (a GnmiSession built without a timeout): a TCP and an HTTP/2 (TLS) handshake, fewer
# round trips than a login. The supervisor gives its gNMI sessions CONNECT_TIMEOUT_S like its SSH sessions.
GNMI_CONNECT_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 30.0
KEEPALIVE_INTERVAL_S = 10.0
KEEPALIVE_COUNT_MAX = 3

# The most output one command may return (bytes). A device that streams without end (or far more than a CLI show
# prints) would otherwise fill memory; past this the session stops the command (see devices/ssh.py).
MAX_OUTPUT_BYTES = 16 * 1024 * 1024

# The recording (incident memory): how long and how much it keeps, and how finely.
RECORDING_MAX_AGE_S = 24 * 3600.0
# The console redraws at most this often (its coalesced refresh tick); config.toml's refresh_rate may lower it.
MAX_REFRESH_HZ = 4.0
RECORDING_MAX_BYTES = 500 * 1024 * 1024
RECORDING_FULL_RESOLUTION_S = 3600.0  # older than this, counters are kept as 1-minute low/mean/high only
RECORDING_KEYFRAME_S = 120.0  # a seek replays at most this much of events after a keyframe
# Significant bits of each sample's difference a recording keeps of the traffic counters (octets, packets): a
# replayed rate within 2**-11 (0.05 %); every counter is exact again at each keyframe, errors and discards always.
RECORDING_COUNTER_PRECISION_BITS = 12
RECORDING_COMMIT_S = 0.5  # batches are committed at least this often: a crash loses at most about this much

# The user's settings (edgeops.config reads them from flags, EDGEOPS_* variables and config.toml; these are the rest).
THEME: str | None = None  # None: the console's own default theme
HOST_KEY_POLICY: str | None = None  # None: each host's StrictHostKeyChecking in ssh_config, else accept-new
OUTPUT_FORMAT = "text"  # how `edgeops run` prints its results
READONLY = False  # True: no command that could change a device is sent, and the guard cannot be lifted
RECORD = True  # the console records the fleet into the state folder
