"""Incident memory: the fleet's events recorded to a local file, and read back for replay, timelines and export."""
