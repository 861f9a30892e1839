"""Talking to devices: SSH sessions, gNMI subscriptions, decoding, supervision and jump hosts."""
