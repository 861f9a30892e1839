"""One gNMI session to one device: a grpc.aio channel, Capabilities, Get and a decoded Subscribe stream.

No reconnect logic and no threads here: a supervisor owns the session's lifetime and retries; this module
connects once, reports failures as our own exceptions, and runs on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography import x509
from cryptography.x509.oid import NameOID
from grpc import aio
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from edgeops.defaults import COUNTER_INTERVAL_S, GNMI_CONNECT_TIMEOUT_S, HEALTH_INTERVAL_S
from edgeops.devices.decode import AlarmBook, HealthBook, SyncMarker, decode_notification
from edgeops.devices.errors import (
    GnmiAuthError,
    GnmiConnectTimeout,
    GnmiError,
    GnmiRejected,
    GnmiStreamCut,
    GnmiUnavailable,
)
from edgeops.devices.gnmi_paths import (
    NATIVE_MODEL_MARKERS,
    PathMap,
    SubscriptionSpec,
    gnmi_path,
    group_matcher,
    native_path_map,
    path_map_for,
    subscription_list,
)
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.samples import HealthSample, InterfaceSample
from edgeops.inventory.model import Device
from edgeops.platforms import GnmiTls, Platform

__all__ = [
    "DeviceCapabilities",
    "GnmiSession",
    "SyncMarker",
    "choose_encoding",
]

log = logging.getLogger(__name__)

DEFAULT_RPC_TIMEOUT_S = 15.0
# Preference per platform: what the device's own tooling uses. Only encodings the device lists are chosen.
ENCODING_PREFERENCE = {
    Platform.SRLINUX: (gnmi_pb2.JSON_IETF, gnmi_pb2.JSON, gnmi_pb2.PROTO, gnmi_pb2.ASCII),
    Platform.SROS: (gnmi_pb2.JSON, gnmi_pb2.JSON_IETF, gnmi_pb2.PROTO, gnmi_pb2.BYTES),
    Platform.SROS_CLASSIC: (gnmi_pb2.JSON, gnmi_pb2.JSON_IETF, gnmi_pb2.PROTO, gnmi_pb2.BYTES),
}
CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    # A stream that silently dies (a dead jump host, a cable) is noticed by keepalive pings.
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Reconnection is the supervisor's job; keep gRPC's own retry short so failures surface.
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
)

Sample = InterfaceSample | HealthSample


# Errors that say nothing about the paths asked for: the session (or the device as a whole) is at fault, and a
# reconnect, not a narrower subscription, is the answer.
_SESSION_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


@dataclass(frozen=True)
class DeviceCapabilities:
    gnmi_version: str
    models: tuple[str, ...]
    encodings: tuple[int, ...]  # gnmi_pb2.Encoding values
    model_versions: tuple[str, ...] = ()  # each model's version, in the order of `models`

    @property
    def encoding_names(self) -> tuple[str, ...]:
        return tuple(gnmi_pb2.Encoding.Name(value) for value in self.encodings)

    def release(self, platform: Platform) -> str:
        """What the device runs, as far as Capabilities tells: its native model's version (`nokia-state
        24.3.R2-1`, `srl_nokia-interfaces 2025-10-31`), else its gNMI version. An upgrade changes it."""
        marker = NATIVE_MODEL_MARKERS[platform]
        for model, version in zip(self.models, self.model_versions, strict=False):
            if model.rsplit(":", 1)[-1] == marker and version:
                return f"{marker} {version}"
        return f"gNMI {self.gnmi_version}" if self.gnmi_version else "unknown"


def choose_encoding(platform: Platform, offered: Sequence[int]) -> int:
    """JSON_IETF for SR Linux, JSON for SR OS, falling back to whatever the device really lists."""
    for encoding in ENCODING_PREFERENCE[platform]:
        if encoding in offered:
            return encoding
    if offered:
        return offered[0]
    # A device that lists nothing: assume the platform's usual encoding.
    return ENCODING_PREFERENCE[platform][0]


def _map_rpc_error(
    error: grpc.RpcError, device: str, what: str, *, streaming: bool = False, refusable: bool = False
) -> GnmiError:
    """Our exception for a gRPC error. `refusable`: a Subscribe that has received nothing yet, where an error that
    is not about the session is the device refusing what was asked (GnmiRejected)."""
    code = error.code() if isinstance(error, aio.AioRpcError | grpc.Call) else None
    details = error.details() if isinstance(error, aio.AioRpcError | grpc.Call) else str(error)
    message = f"{device}: gNMI {what} failed: {details or code}"
    if refusable and code not in _SESSION_CODES and code is not None:
        return GnmiRejected(message, code, details or code.name, device=device)
    if code == grpc.StatusCode.UNAUTHENTICATED or code == grpc.StatusCode.PERMISSION_DENIED:
        return GnmiAuthError(f"{device}: gNMI {what}: authentication failed ({details})", code, device=device)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        if streaming:
            return GnmiStreamCut(message, code, device=device)
        return GnmiUnavailable(message, code, device=device)
    if streaming and code in (grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
        return GnmiStreamCut(message, code, device=device)
    return GnmiError(message, code, device=device)


def certificate_names(pem: bytes) -> list[str]:
    """Names a certificate answers to: its SANs (DNS and IP) first, then its common name."""
    cert = x509.load_pem_x509_certificate(pem)
    names: list[str] = []
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += [str(name) for name in sans.get_values_for_type(x509.DNSName)]
        names += [str(address) for address in sans.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    names += [str(attr.value) for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return names


async def fetch_server_certificate(host: str, port: int, *, server_name: str | None, within_s: float) -> bytes:
    """The PEM certificate a TLS server presents, fetched without verifying it (as pygnmi's skip-verify does)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # gRPC servers speak HTTP/2 only; offering it keeps strict servers from refusing the handshake.
    context.set_alpn_protocols(["h2"])
    _, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=context, server_hostname=server_name or None), within_s
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            raise GnmiError(f"{host}:{port} presented no certificate")
        return ssl.DER_cert_to_PEM_cert(der).encode()
    finally:
        # Abort rather than close: a gRPC server never answers a TLS close_notify on a connection that
        # spoke no HTTP/2, and a graceful close would wait for its idle timeout.
        writer.transport.abort()


async def _hold_open(
    request: gnmi_pb2.SubscribeRequest, released: asyncio.Event
) -> AsyncIterator[gnmi_pb2.SubscribeRequest]:
    """Send the request, then keep our half of the stream open (some devices end a subscription on half-close)
    until `released`: gRPC reads this in a task of its own that only ends when we stop, even after the device
    ended the call (a refused Subscribe would otherwise leave it pending for good)."""
    yield request
    await released.wait()


class GnmiSession:
    """One gNMI session to one device over one grpc.aio channel.

    `target` overrides where the channel connects (host:port), e.g. a port forwarded through a jump host;
    TLS still verifies the device's own name (its `gnmi_server_name`, else its inventory host).
    """

    def __init__(
        self,
        device: Device,
        *,
        username: str,
        password: str | None,
        target: str | None = None,
        connect_timeout_s: float = GNMI_CONNECT_TIMEOUT_S,
        rpc_timeout_s: float = DEFAULT_RPC_TIMEOUT_S,
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        if device.gnmi_port is None and target is None:
            raise GnmiUnavailable(f"{device.name}: the inventory lists no gNMI port")
        self.device = device
        self.target = target or f"{device.host}:{device.gnmi_port}"
        self.connect_timeout_s = connect_timeout_s
        self.rpc_timeout_s = rpc_timeout_s
        self._metadata = (("username", username), ("password", password or ""))
        self._channel_options = (*CHANNEL_OPTIONS, *channel_options)
        self._channel: aio.Channel | None = None
        self._stub: gnmi_pb2_grpc.gNMIStub | None = None
        self._calls: set[Any] = set()
        # One alarm book for all of the session's Subscribe calls: SR OS lists its alarms in one group, but SR Linux
        # alarms are derived from leaves of several groups (platform state in health, oper-down-reason in
        # oper-state), so each call reports the device's whole list, never only what its own paths raised.
        self.alarm_book = AlarmBook(device.name)
        self.device_capabilities: DeviceCapabilities | None = None
        self.encoding: int = ENCODING_PREFERENCE[device.platform][0]
        self.path_map: PathMap = native_path_map(device.platform)
        self.log = logging.LoggerAdapter(log, {"device": device.name})

    # -- connecting --

    def _split_target(self) -> tuple[str, int]:
        host, _, port = self.target.rpartition(":")
        return host.strip("[]"), int(port)

    async def _credentials(self) -> tuple[grpc.ChannelCredentials, list[tuple[str, Any]]]:
        device = self.device
        options: list[tuple[str, Any]] = []
        if device.gnmi_tls is GnmiTls.SKIP_VERIFY:
            host, port = self._split_target()
            try:
                pem = await fetch_server_certificate(
                    host, port, server_name=device.gnmi_server_name, within_s=self.connect_timeout_s
                )
            except (TimeoutError, OSError, ssl.SSLError) as error:
                reason = str(error) or type(error).__name__
                raise GnmiUnavailable(
                    f"{device.name}: cannot fetch the gNMI certificate from {self.target}: {reason}"
                ) from error
            # Trust exactly the certificate the device showed, under a name it carries.
            names = certificate_names(pem)
            name = device.gnmi_server_name or (names[0] if names else "")
            options.append(("grpc.ssl_target_name_override", name))
            return grpc.ssl_channel_credentials(root_certificates=pem), options
        roots = None
        if device.gnmi_ca_file is not None:
            try:
                roots = device.gnmi_ca_file.read_bytes()
            except OSError as error:
                raise GnmiError(
                    f"{device.name}: cannot read the gNMI CA file {device.gnmi_ca_file}: {error}"
                ) from error
        expected = device.gnmi_server_name or (device.host if self.target != self._inventory_target else None)
        if expected:
            options.append(("grpc.ssl_target_name_override", expected))
        return grpc.ssl_channel_credentials(root_certificates=roots), options

    @property
    def _inventory_target(self) -> str:
        return f"{self.device.host}:{self.device.gnmi_port}"

    async def connect(self) -> DeviceCapabilities:
        """Open the channel, ask Capabilities, and choose the encoding and path map from the answer."""
        if self._channel is not None:
            raise GnmiError(f"{self.device.name}: the session is already connected")
        options = list(self._channel_options)
        if self.device.gnmi_tls is GnmiTls.INSECURE:
            self._channel = aio.insecure_channel(self.target, options=options)
        else:
            credentials, tls_options = await self._credentials()
            self._channel = aio.secure_channel(self.target, credentials, options=options + tls_options)
        self._stub = gnmi_pb2_grpc.gNMIStub(self._channel)
        try:
            await self._wait_until_ready()
            return await self.capabilities()
        except BaseException:
            await self.close()
            raise

    async def _wait_until_ready(self) -> None:
        """Wait for the channel to connect; fail at once, with gRPC's reason, when connecting fails."""
        assert self._channel is not None and self._stub is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout_s
        state = self._channel.get_state(try_to_connect=True)
        while state != grpc.ChannelConnectivity.READY:
            remaining = deadline - loop.time()
            if state == grpc.ChannelConnectivity.TRANSIENT_FAILURE and remaining > 0:
                # One fail-fast call tells why (connection refused, certificate not trusted, ...).
                try:
                    await self._stub.Capabilities(
                        gnmi_pb2.CapabilityRequest(), metadata=self._metadata, timeout=remaining, wait_for_ready=False
                    )
                except grpc.RpcError as error:
                    raise _map_rpc_error(error, self.device.name, "connect") from None
                return
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._channel.wait_for_state_change(state), remaining)
            except TimeoutError:
                break
            state = self._channel.get_state(try_to_connect=True)
        else:
            return
        raise GnmiConnectTimeout(
            f"{self.device.name}: no gNMI answer from {self.target} within {self.connect_timeout_s:g} s"
        )

    async def __aenter__(self) -> GnmiSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        for call in list(self._calls):
            call.cancel()
        self._calls.clear()
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close(grace=None)

    aclose = close

    @property
    def connected(self) -> bool:
        return self._channel is not None

    @property
    def release(self) -> str:
        """What the device runs as Capabilities told it (see DeviceCapabilities.release); "" before connecting."""
        caps = self.device_capabilities
        return caps.release(self.device.platform) if caps is not None else ""

    def _require_stub(self) -> gnmi_pb2_grpc.gNMIStub:
        if self._stub is None:
            raise GnmiError(f"{self.device.name}: the gNMI session is not connected")
        return self._stub

    # -- unary RPCs --

    async def capabilities(self) -> DeviceCapabilities:
        stub = self._require_stub()
        try:
            response = await stub.Capabilities(
                gnmi_pb2.CapabilityRequest(), metadata=self._metadata, timeout=self.rpc_timeout_s
            )
        except grpc.RpcError as error:
            raise _map_rpc_error(error, self.device.name, "Capabilities") from None
        # Interned: a fleet's devices list the same few hundred model names and versions, held once, not per device.
        caps = DeviceCapabilities(
            gnmi_version=response.gNMI_version,
            models=tuple(sys.intern(model.name) for model in response.supported_models),
            encodings=tuple(response.supported_encodings),
            model_versions=tuple(sys.intern(model.version) for model in response.supported_models),
        )
        self.device_capabilities = caps
        self.encoding = choose_encoding(self.device.platform, caps.encodings)
        self.path_map = path_map_for(self.device.platform, caps.models)
        self.log.debug(
            "gNMI %s, encoding %s, paths %s",
            caps.gnmi_version,
            gnmi_pb2.Encoding.Name(self.encoding),
            self.path_map.name,
        )
        return caps

    async def get(
        self, paths: Sequence[str | gnmi_pb2.Path], *, data_type: int = gnmi_pb2.GetRequest.ALL
    ) -> list[gnmi_pb2.Notification]:
        """The device's current values at `paths`, as the notifications it returned."""
        stub = self._require_stub()
        request = gnmi_pb2.GetRequest(
            path=[gnmi_path(path) if isinstance(path, str) else path for path in paths],
            encoding=self.encoding,
            type=data_type,
        )
        try:
            response = await stub.Get(request, metadata=self._metadata, timeout=self.rpc_timeout_s)
        except grpc.RpcError as error:
            raise _map_rpc_error(error, self.device.name, "Get") from None
        return list(response.notification)

    async def get_samples(self, paths: Sequence[str | gnmi_pb2.Path]) -> list[Sample]:
        """Get, decoded into samples (health merged into one HealthSample, with alarms when asked for)."""
        received = time.time()
        interfaces: list[Sample] = []
        health = HealthBook(self.device.name)
        alarms = AlarmBook(self.device.name)
        saw_health = saw_alarms = False
        for note in await self.get(paths):
            decoded = decode_notification(note, self.device.name, received_at=received)
            interfaces.extend(decoded.interfaces.samples())
            if decoded.health is not None:
                health.merge(decoded.health)
                saw_health = True
            if decoded.touches_alarms:
                alarms.apply(decoded)
                saw_alarms = True
        if saw_health or saw_alarms:
            interfaces.append(health.view(alarms.alarms() if saw_alarms else None))
        return interfaces

    # -- Subscribe --

    def _response_error(self, error: gnmi_pb2.Error, *, first: bool) -> GnmiError:
        """A SubscribeResponse carrying an error: a refusal when it is the first response, else a cut stream."""
        text = error.message or f"error code {error.code}"
        device = self.device.name
        if first:
            return GnmiRejected(f"{device}: gNMI Subscribe refused: {text}", None, text)
        return GnmiStreamCut(f"{device}: the device reported an error on the gNMI stream: {text}")

    def default_subscriptions(
        self,
        *,
        counter_interval_s: float = COUNTER_INTERVAL_S,
        health_interval_s: float = HEALTH_INTERVAL_S,
    ) -> tuple[SubscriptionSpec, ...]:
        """Counters, oper state, health and alarms from the path map Capabilities chose."""
        return self.path_map.subscriptions(counter_interval_s=counter_interval_s, health_interval_s=health_interval_s)

    async def stream(
        self,
        subscriptions: Sequence[SubscriptionSpec] | None = None,
        *,
        mode: int = gnmi_pb2.SubscriptionList.STREAM,
        pace: Callable[[], Awaitable[None]] | None = None,
        carries_alarms: bool | None = None,
        on_data: Callable[[tuple[str, ...]], None] | None = None,
    ) -> AsyncGenerator[InterfaceBatch | HealthSample | SyncMarker, None]:
        """Decoded data from one Subscribe call carrying `subscriptions` (default: every group of the path map).

        The interfaces of a notification come together, as one InterfaceBatch (what the fleet store's
        `apply_interfaces` takes), without a sample object per interface; fields not in the update are None.
        Health comes as whole views: each HealthSample merges everything received so far, and carries the full
        active alarm list once the initial dump is complete (after the SyncMarker) and whenever an alarm is
        raised or cleared.

        `pace`, when given, is awaited before each message is decoded (see devices.pacing.TurnPacer): many
        streams decoding in the same loop turn then share it instead of holding the loop one after another.
        `carries_alarms`: whether this call subscribes to the device's alarm list (default: a spec named "alarms"
        has paths). After its initial dump that list is the truth, even when empty. Alarms derived from state
        leaves may come from any call. Every call folds its alarm changes into the session's one `alarm_book` and
        reports the book's whole list: at the end of its dump when it carries the list or its dump changed the
        book, and after that whenever it changes the book.

        `on_data`, when given, is told of every response the device sends, before what it holds is yielded: with
        the names of the groups (specs) whose paths a notification carries (a call carrying one group: that group
        always), or with every group's name for the end of the initial dump. One call may so carry several
        groups and still tell when each of them last had data.

        Raises GnmiRejected when the device refuses the call before sending anything (a path it does not
        support), GnmiStreamCut when a running stream ends with an error.
        """
        stub = self._require_stub()
        specs = tuple(subscriptions) if subscriptions is not None else self.default_subscriptions()
        if carries_alarms is None:
            carries_alarms = any(spec.name == "alarms" and spec.paths for spec in specs)
        request = gnmi_pb2.SubscribeRequest(subscribe=subscription_list(specs, self.encoding, mode=mode))
        device = self.device.name
        released = asyncio.Event()
        call = stub.Subscribe(_hold_open(request, released), metadata=self._metadata)
        self._calls.add(call)
        # Whether this call's dump tells the whole truth about some alarms: the device's list, or the state
        # leaves alarms are derived from.
        reports_alarms = carries_alarms or any(spec.name in self.path_map.derived_alarm_groups for spec in specs)
        alarms = self.alarm_book
        if carries_alarms:
            # This call's dump lists the device's alarms afresh: what an earlier call listed may have cleared since.
            alarms.forget_listed()
        dump_changed_alarms = False
        named = tuple(spec.name for spec in specs if spec.paths)
        # A call carrying one group needs no matching: everything it brings is that group's.
        matcher = group_matcher(specs) if on_data is not None and len(named) > 1 else None
        health = HealthBook(device)
        synced = False
        received_any = False
        read = call.read
        end_of_stream = aio.EOF
        try:
            while True:
                # A response holds the arena its whole message was parsed into: let go of the last one (and of
                # what was decoded from it) before waiting, often seconds, for the next.
                response = decoded = None
                # read() rather than `async for`: gRPC's iterator is one more async generator per message.
                response = await read()
                if response is end_of_stream:
                    break
                if pace is not None:
                    await pace()
                received = time.time()
                which = response.WhichOneof("response")
                if which == "error":  # gNMI before 0.8 reported errors in a response, not as a status
                    raise self._response_error(response.error, first=not received_any)
                received_any = True
                if which == "sync_response":
                    synced = True
                    if on_data is not None:
                        on_data(named)
                    yield SyncMarker(device, received)
                    if reports_alarms or dump_changed_alarms:
                        # The dump is complete: the alarm list (even an empty one) is now the truth.
                        yield health.merge(HealthSample(device=device, timestamp=received), alarms.alarms())
                    continue
                if which != "update":
                    continue
                # The decoding pass walks the paths anyway: it tells the groups too (see decode.PathGrouping).
                decoded = decode_notification(response.update, device, received_at=received, grouping=matcher)
                if on_data is not None:
                    on_data(decoded.groups if matcher is not None else named)
                if decoded.interfaces.rows:
                    yield decoded.interfaces
                alarms_changed = alarms.apply(decoded) if decoded.touches_alarms else False
                dump_changed_alarms = dump_changed_alarms or (alarms_changed and not synced)
                if decoded.health is not None or (alarms_changed and synced):
                    base = decoded.health or HealthSample(device=device, timestamp=decoded.timestamp)
                    yield health.merge(base, alarms.alarms() if synced and (reports_alarms or alarms_changed) else None)
        except grpc.RpcError as error:
            if isinstance(error, aio.AioRpcError) and error.code() == grpc.StatusCode.CANCELLED and not self._channel:
                return  # we closed the session ourselves
            raise _map_rpc_error(
                error, device, "Subscribe", streaming=received_any, refusable=not received_any
            ) from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._channel is None and call.cancelled() and not (task and task.cancelling()):
                return  # close() cancelled the call under us: the stream simply ends
            call.cancel()
            raise
        finally:
            self._calls.discard(call)
            if not call.done():
                call.cancel()
            released.set()
        if mode == gnmi_pb2.SubscriptionList.STREAM:
            raise GnmiStreamCut(f"{device}: the device ended the gNMI stream")
