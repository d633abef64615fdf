"""isaacctl stand-in: only the `run` launcher module."""
