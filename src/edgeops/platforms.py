"""Enumerations shared by the client side and the lab: platforms, roles, TLS modes, device states."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    """The network operating system a device runs (how we talk to it)."""

    SRLINUX = "srlinux"
    SROS = "sros"  # SR OS with the model-driven CLI (MD-CLI)
    SROS_CLASSIC = "sros-classic"  # SR OS with the classic CLI

    @property
    def label(self) -> str:
        return {"srlinux": "SR Linux", "sros": "SR OS", "sros-classic": "SR OS (classic)"}[self.value]

    @property
    def is_sros(self) -> bool:
        return self in (Platform.SROS, Platform.SROS_CLASSIC)


class GnmiTls(StrEnum):
    """How the gNMI channel is secured."""

    TLS = "tls"  # verify the server certificate (system roots or the inventory's CA file)
    SKIP_VERIFY = "skip-verify"  # encrypt, but accept any certificate
    INSECURE = "insecure"  # plaintext gRPC (lab, containerlab's 57401)


KNOWN_ROLES = ("spine", "leaf", "border", "gateway", "superspine", "pe", "p", "access", "oob")
