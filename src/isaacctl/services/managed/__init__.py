"""Managed training (`train --managed`, `isaacctl watch`): the recovery loop in recovery.py,
the on-host boot hook in boot_hook.py. See docs/managed.md."""

from isaacctl.services.managed.recovery import ManagedService, Outcome, check_flags

__all__ = ["ManagedService", "Outcome", "check_flags"]
