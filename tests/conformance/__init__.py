"""Conformance of the engine's paths and the lab's data with Nokia's published YANG models."""
