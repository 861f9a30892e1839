"""Names on the bus: every site and device name is one subject token and one key part, and comes back unchanged."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from edgeops.bus.subjects import device_key, device_of_subject, telemetry_subject, token, untoken

# What NATS allows in a subject token, and JetStream in a key-value key.
SUBJECT_TOKEN = re.compile(r"[^.*>\s]+")
KV_KEY = re.compile(r"[-/_=.a-zA-Z0-9]+")


@given(st.text(max_size=40))
def test_every_name_is_one_token_and_comes_back(name: str) -> None:
    escaped = token(name)
    assert SUBJECT_TOKEN.fullmatch(escaped) and KV_KEY.fullmatch(escaped)
    assert untoken(escaped) == name


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_a_device_subject_names_its_site_and_device(site: str, device: str) -> None:
    assert device_of_subject(telemetry_subject(site, device)) == (site, device)
    assert KV_KEY.fullmatch(device_key(site, device))


def test_names_with_dots_and_wildcards_cannot_reach_another_device() -> None:
    assert telemetry_subject("lab", "leaf 1.a") == "edgeops.lab.leaf=201=2Ea.telemetry"
    assert telemetry_subject("lab", "*") != telemetry_subject("lab", ">")
    assert device_of_subject("edgeops.lab.leaf1") is None
    assert device_of_subject("other.lab.leaf1.telemetry") is None
    assert device_of_subject("edgeops.lab.=zz.telemetry") is None
