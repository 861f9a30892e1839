"""The overall state of a device, derived from the states of its SSH and gNMI sessions."""

from __future__ import annotations

from edgeops.devices.samples import DeviceState, SessionState

_WAITING = frozenset({SessionState.IDLE, SessionState.CONNECTING})
_FAILED = frozenset({SessionState.DOWN, SessionState.UNREACHABLE})

_ALONE = {
    SessionState.UP: DeviceState.UP,
    SessionState.IDLE: DeviceState.CONNECTING,
    SessionState.CONNECTING: DeviceState.CONNECTING,
    SessionState.DOWN: DeviceState.DOWN,
    SessionState.UNREACHABLE: DeviceState.UNREACHABLE,
    # A device that offers neither service has nothing we can talk to.
    SessionState.UNAVAILABLE: DeviceState.DOWN,
}


def derive_device_state(ssh: SessionState, gnmi: SessionState) -> DeviceState:
    """What the console shows for a device, given its two transports.

    Rules, first match wins:

    1. HOSTKEY_MISMATCH on either transport -> HOSTKEY_MISMATCH (a possible impostor outranks all).
    2. AUTH_FAILED on either -> AUTH_FAILED (needs the engineer, retrying will not fix it).
    3. One transport UNAVAILABLE (the device does not offer it, e.g. no gNMI: polled over SSH):
       the other decides alone: UP -> UP, IDLE/CONNECTING -> CONNECTING, DOWN -> DOWN,
       UNREACHABLE -> UNREACHABLE; both UNAVAILABLE -> DOWN.
    4. Both UP -> UP.
    5. One UP, the other CONNECTING, DOWN or UNREACHABLE -> DEGRADED. The other IDLE (not
       started, nothing failed) -> UP.
    6. Neither UP: both IDLE or CONNECTING -> CONNECTING. Otherwise the failed ones decide:
       all of them UNREACHABLE -> UNREACHABLE, else DOWN (a definite failure outranks an
       attempt still in progress).

    The whole table (rows SSH, columns gNMI; C connecting, U up, G degraded, D down,
    X unreachable, A auth-failed, H hostkey-mismatch):

    ============  ====  ==========  ==  ====  ===========  ===========  ====  =======
    ssh \\ gnmi    idle  connecting  up  down  unreachable  unavailable  auth  hostkey
    ============  ====  ==========  ==  ====  ===========  ===========  ====  =======
    idle          C     C           U   D     X            C            A     H
    connecting    C     C           G   D     X            C            A     H
    up            U     G           U   G     G            U            A     H
    down          D     D           G   D     D            D            A     H
    unreachable   X     X           G   D     X            X            A     H
    unavailable   C     C           U   D     X            D            A     H
    auth          A     A           A   A     A            A            A     H
    hostkey       H     H           H   H     H            H            H     H
    ============  ====  ==========  ==  ====  ===========  ===========  ====  =======
    """
    ssh = SessionState(ssh)  # also accepts the plain strings ("up", "down", ...)
    gnmi = SessionState(gnmi)
    if SessionState.HOSTKEY_MISMATCH in (ssh, gnmi):
        return DeviceState.HOSTKEY_MISMATCH
    if SessionState.AUTH_FAILED in (ssh, gnmi):
        return DeviceState.AUTH_FAILED
    if gnmi is SessionState.UNAVAILABLE:
        return _ALONE[ssh]
    if ssh is SessionState.UNAVAILABLE:
        return _ALONE[gnmi]
    if ssh is SessionState.UP and gnmi is SessionState.UP:
        return DeviceState.UP
    if SessionState.UP in (ssh, gnmi):
        other = gnmi if ssh is SessionState.UP else ssh
        return DeviceState.UP if other is SessionState.IDLE else DeviceState.DEGRADED
    if ssh in _WAITING and gnmi in _WAITING:
        return DeviceState.CONNECTING
    failed = [s for s in (ssh, gnmi) if s in _FAILED]
    if all(s is SessionState.UNREACHABLE for s in failed):
        return DeviceState.UNREACHABLE
    return DeviceState.DOWN
