"""How to run commands and move files on a host: here (`local`) or over SSH (`ssh`)."""

from isaacctl.remote.base import CommandResult, OutputHandler, Remote

__all__ = ["CommandResult", "OutputHandler", "Remote"]
