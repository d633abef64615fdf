"""The bootstrap step that puts managed training's boot hook on the head node
(services/managed/boot_hook.py): at boot the workstation resumes, by itself, a managed run its
stop cut short. Every deployment gets it, as any deployment may run a managed job later; it
does nothing on a host without a managed run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from isaacctl.remote.batch import Command

if TYPE_CHECKING:
    from isaacctl.services.bootstrap.context import StepContext


def inputs(ctx: StepContext) -> dict[str, Any]:
    from isaacctl.resources import template_text
    from isaacctl.services.managed import boot_hook

    return {"script": template_text(boot_hook.SCRIPT), "unit": template_text(boot_hook.UNIT)}


def probe(ctx: StepContext) -> Sequence[Command]:
    """What in_place asks the host: a re-run's one round trip asks it with the other checks."""
    from isaacctl.services.managed import boot_hook

    if ctx.node_index != 0:
        return ()  # managed jobs run on the head only
    # the unit is the deployment's own (two deployments may share an adopted host's folder)
    unit = f"{ctx.host_root}/managed/{boot_hook.unit_name(ctx.record)}"
    return (Command.of(["test", "-f", f"{ctx.host_root}/managed/boot_resume.py", "-a", "-f", unit]),)


def in_place(ctx: StepContext) -> bool:
    return all(ctx.ask(command, timeout=60).ok for command in probe(ctx))


def install(ctx: StepContext) -> None:
    from isaacctl.services.managed import boot_hook

    if ctx.node_index != 0:
        return
    mode = boot_hook.install(ctx.remote, ctx.record)
    ctx.write_log(
        "managed boot hook: "
        + ("a systemd unit, run at boot" if mode == "systemd" else "no systemd here: installed, run by nothing at boot")
    )
