"""TensorBoard over every job of a deployment: a container on the host bound to the host's
loopback only, and an SSH port forward to it (nothing is opened to the network)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from isaacctl.errors import IsaacctlError, RemoteError
from isaacctl.providers.base import CONTAINER_ID_LABEL, CONTAINER_LABEL
from isaacctl.services.jobs.command import CONTAINER_JOBS

if TYPE_CHECKING:
    from isaacctl.services.jobs.service import JobService


@dataclass(frozen=True)
class TensorBoardSession:
    deployment: str
    container: str
    host_port: int
    local_port: int
    forward: subprocess.Popen | None  # None when the host is this machine

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}/"

    def close(self) -> None:
        if self.forward is not None and self.forward.poll() is None:
            self.forward.terminate()
            self.forward.wait(10)


def container_name(deployment: str) -> str:
    return f"isaacctl-{deployment}-tensorboard"


def start(jobs: JobService, deployment: str | None, host_port: int, local_port: int | None) -> TensorBoardSession:
    record = jobs.ready_deployment(deployment)
    name = container_name(record.name)
    with jobs.deployments.remote(record.name) as remote:
        remote.run(["docker", "rm", "--force", name])  # a stale one from an earlier session
        result = remote.run([
            "docker", "run", "--detach", "--name", name,
            "--label", f"{CONTAINER_LABEL}={record.name}", "--label", f"{CONTAINER_ID_LABEL}={record.id}",
            "--network=host",
            "--volume", f"{record.host_root}/jobs:{CONTAINER_JOBS}:ro",
            "--entrypoint", "bash", str(record.image),
            "-c", f'exec ./isaaclab.sh -p -m tensorboard.main --logdir {CONTAINER_JOBS} --host 127.0.0.1 --port "$0"',
            str(host_port),
        ])
        if not result.ok:
            raise RemoteError(f"TensorBoard did not start on {record.name}", details=result.tail(5))
        from isaacctl.remote.ssh import SshRemote

        if not isinstance(remote, SshRemote):
            return TensorBoardSession(record.name, name, host_port, host_port, None)
        # Its own connection: a forward must live exactly as long as this command.
        ssh = ["ssh", *remote.openssh_options(share_connection=False)]
        target = remote.target.alias
    chosen = local_port or host_port
    if shutil.which(ssh[0]) is None:
        raise IsaacctlError("the port forward needs OpenSSH's ssh client", hint="apt-get install openssh-client")
    forward = subprocess.Popen(
        [*ssh, "-N", "-o", "ExitOnForwardFailure=yes", "-L", f"127.0.0.1:{chosen}:127.0.0.1:{host_port}", target],
        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return TensorBoardSession(record.name, name, host_port, chosen, forward)


def stop(jobs: JobService, deployment: str | None) -> None:
    record = jobs.resolve_deployment(deployment)
    with jobs.deployments.remote(record.name) as remote:
        remote.run(["docker", "rm", "--force", container_name(record.name)])
