"""The stack, the same on every backend: its names, the four operations and what they call."""
