"""Settings for the whole test run, made before any test starts a gRPC server (gRPC reads them once)."""

from __future__ import annotations

import os

# The lab's gRPC servers run inside the test process, and scrapli's system transport starts OpenSSH with pty.fork(),
# which runs gRPC's fork handlers in the parent and the child (with the lab's threads inside gRPC, they are skipped
# half the time and run the other half). About one OpenSSH in a few hundred then died before its first prompt
# ("encountered EOF reading from transport"). The child only runs ssh and needs none of gRPC's state, and edgeops
# itself never forks a process that uses gRPC, so the test run turns the handlers off.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
