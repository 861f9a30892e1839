"""The per-port and per-device timeline: one time axis for traffic, errors, state changes, alarms and commands."""
