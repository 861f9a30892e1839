"""The shared fleet on NATS JetStream: collectors publish the fleet's events, consoles read them (docs/scale-out.md)."""
