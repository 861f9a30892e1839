"""The servers the lab devices answer on: SSH, gNMI and the jump host, with their keys and certificates."""
