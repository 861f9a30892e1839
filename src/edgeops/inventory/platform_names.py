"""Platform names as other tools spell them (scrapli, netmiko, NAPALM, Nornir users), mapped to edgeops' own."""

from __future__ import annotations

from edgeops.platforms import Platform

PLATFORM_ALIASES: dict[str, Platform] = {
    # SR Linux
    "srlinux": Platform.SRLINUX,
    "srl": Platform.SRLINUX,
    "sr_linux": Platform.SRLINUX,
    "sr-linux": Platform.SRLINUX,
    "nokia_srl": Platform.SRLINUX,  # netmiko, scrapli-community alias
    "nokia_srlinux": Platform.SRLINUX,  # scrapli-community, containerlab
    "nokia-srlinux": Platform.SRLINUX,
    # SR OS, model-driven CLI
    "sros": Platform.SROS,  # NAPALM
    "nokia_sros": Platform.SROS,  # scrapli-community, netmiko
    "nokia-sros": Platform.SROS,
    "nokia_sros_md": Platform.SROS,
    "sros_md": Platform.SROS,
    "alcatel_sros": Platform.SROS,  # netmiko's historical name; it drives MD-CLI and classic alike
    # SR OS, classic CLI
    "sros-classic": Platform.SROS_CLASSIC,
    "sros_classic": Platform.SROS_CLASSIC,
    "nokia_sros_classic": Platform.SROS_CLASSIC,
    "nokia-sros-classic": Platform.SROS_CLASSIC,
    "alcatel_sros_classic": Platform.SROS_CLASSIC,
}


def platform_from_alias(name: str) -> Platform | None:
    return PLATFORM_ALIASES.get(name.strip().lower())
