"""isaacctl stand-in of the `isaaclab` 3.x package: only its command line (`python -m isaaclab`,
the `isaaclab` console script). Present in both stand-in images, answering as 3.x."""

__version__ = "3.0.0"
