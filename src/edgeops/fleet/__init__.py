"""The fleet: the state store the console reads, and the multi-device command runner."""
