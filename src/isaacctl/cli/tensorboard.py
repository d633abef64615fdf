"""`isaacctl tensorboard`."""

import time
from typing import Optional

import typer

from isaacctl.cli.context import app_of
from isaacctl.cli.jobs import DEPLOYMENT, job_service


def tensorboard_command(
    ctx: typer.Context,
    deployment: Optional[str] = DEPLOYMENT,
    port: int = typer.Option(6006, "--port", help="Port TensorBoard listens on, on the host's loopback."),
    local_port: Optional[int] = typer.Option(None, "--local-port", help="Local port to forward [default: --port]."),
    stop: bool = typer.Option(False, "--stop", help="Stop the deployment's TensorBoard and exit."),
) -> None:
    """Run TensorBoard over all of a deployment's jobs and forward it here through SSH.
    Stays in the foreground; Ctrl-C ends the forward (and stops TensorBoard).

    \b
    Example:  isaacctl tensorboard -d ws1      # then open http://127.0.0.1:6006/
    """
    from isaacctl.errors import UserError
    from isaacctl.services import tensorboard

    app = app_of(ctx)
    jobs = job_service(app)
    if stop:
        tensorboard.stop(jobs, deployment)
        app.terminal.success("TensorBoard stopped")
        return
    for flag, value in (("--port", port), ("--local-port", local_port)):
        if value is not None and not 1 <= value <= 65535:
            raise UserError(f"{flag}: expected a port from 1 to 65535, got {value}")
    session = tensorboard.start(jobs, deployment, port, local_port)
    app.terminal.success(f"TensorBoard for {session.deployment}: {session.url}")
    app.terminal.text(session.url)
    try:
        while session.forward is None or session.forward.poll() is None:
            time.sleep(0.5)
        error = session.forward.stderr.read().decode(errors="replace") if session.forward.stderr else ""
        raise UserError(f"--local-port: the forward ended: {error.strip() or 'ssh exited'}")
    except KeyboardInterrupt:
        from isaacctl.cli import Interrupt

        Interrupt.reported = True
    finally:
        session.close()
        tensorboard.stop(jobs, session.deployment)
    app.terminal.info("TensorBoard stopped")
