"""The isaacctl container image (top-level Dockerfile), built here with no network and nothing
pulled (scripts/build_image.sh --offline: the debootstrapped base, the wheelhouse), then used
as documented in docs/install.md: the state folder and ~/.ssh mounted, the default non-root user.

Reaching the loopback sshd: the tests run in a network namespace of their own, and a container
lives in dockerd's, where 127.0.0.1 is another loopback. A unix socket is a file, and files cross
network namespaces: the test forwards a socket in a mounted folder to the sshd, and the
container (`--network none`, so it can reach nothing else) is told by ~/.ssh/config to use it as
its ProxyCommand, exactly as a user reaches a host behind a bastion. isaacctl itself (paramiko)
and rsync (the system ssh) both go through it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = os.environ.get("ISAACCTL_TEST_WHEELHOUSE")
TAG = "isaacctl-test/isaacctl:dev"
UID = 1000  # the image's user (Dockerfile ARG UID)

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(not WHEELHOUSE, reason="no wheelhouse (scripts/build_image.sh --prepare; scripts/test.sh)"),
]

UNIX_PROXY = """\
import os, socket, sys, threading
# ProxyCommand: ssh's stdin/stdout <-> the unix socket the test forwards to its sshd
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
def up():
    while data := os.read(0, 65536):
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := s.recv(65536):
    os.write(1, data)
"""


@pytest.fixture(scope="module")
def image(docker_ready) -> str:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build_image.sh"), "--offline", TAG],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "ISAACCTL_WHEELHOUSE": WHEELHOUSE},
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    return TAG


def docker_run(
    image: str, *args: str, mounts: dict[Path, str] | None = None, entrypoint: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    argv = ["docker", "run", "--rm", "--network", "none", "-e", "NO_COLOR=1", "-e", "COLUMNS=200"]
    for source, target in (mounts or {}).items():
        argv += ["-v", f"{source}:{target}"]
    if entrypoint:
        argv += ["--entrypoint", entrypoint]
    return subprocess.run([*argv, image, *args], capture_output=True, text=True, timeout=timeout)


def test_the_image_is_slim_non_root_and_has_every_cloud(image):
    version = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", image, "--version"], capture_output=True, text=True, timeout=120
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("isaacctl ")
    who = docker_run(
        image,
        "-c",
        "id -u; id -g; echo $HOME; command -v ssh; command -v rsync; echo $ISAACCTL_STATE_DIR",
        entrypoint="sh",
    )
    assert who.stdout.split() == [str(UID), str(UID), "/home/isaacctl", "/usr/bin/ssh", "/usr/bin/rsync", "/state"]
    probe = (
        "from isaacctl.providers.registry import get_provider, provider_names\n"
        "for name in provider_names(): get_provider(name)\n"
        "print(' '.join(provider_names()))"
    )
    loaded = docker_run(image, "-c", probe, entrypoint="python3")
    assert loaded.returncode == 0, loaded.stderr
    assert {"aws", "local", "ssh"} <= set(loaded.stdout.split())
    # no build tools or wheels in the final stage
    leftovers = docker_run(image, "-c", "ls /src /wheels 2>/dev/null | wc -l", entrypoint="sh")
    assert leftovers.stdout.strip() == "0"
    size = int(
        subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image], capture_output=True, text=True).stdout
    )
    assert size < 1_000_000_000, size


class UnixBridge:
    """A unix socket that forwards each connection to a TCP port on this namespace's loopback."""

    def __init__(self, path: Path, port: int):
        self.path, self.port = path, port
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        path.chmod(0o666)  # the container's user is not the test's
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.server.close()


def chown_tree(path: Path, uid: int) -> None:
    os.chown(path, uid, uid)
    for folder, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def test_deploy_and_run_a_standin_job_from_the_container(image, sshd, standin_image_local, tmp_path):
    tmp_path.chmod(0o755)
    bridge_dir = tmp_path / "bridge"
    bridge_dir.mkdir(mode=0o755)
    bridge = UnixBridge(bridge_dir / "sshd.sock", sshd.port)
    # what a user mounts: ~/.ssh (key, config) and the state folder, both theirs (uid 1000)
    dot_ssh = tmp_path / "dot-ssh"
    dot_ssh.mkdir(mode=0o700)
    shutil.copy(sshd.client_key, dot_ssh / "id_lab")
    (dot_ssh / "id_lab").chmod(0o600)
    (dot_ssh / "unix_proxy.py").write_text(UNIX_PROXY)
    (dot_ssh / "config").write_text(
        "Host gpu-box\n"
        f"    User {sshd.user}\n"
        "    IdentityFile ~/.ssh/id_lab\n"
        "    IdentitiesOnly yes\n"
        "    ProxyCommand python3 /home/isaacctl/.ssh/unix_proxy.py /run/bridge/sshd.sock\n"
    )
    (dot_ssh / "config").chmod(0o600)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    chown_tree(dot_ssh, UID)
    chown_tree(state, UID)
    mounts = {state: "/state", dot_ssh: "/home/isaacctl/.ssh", bridge_dir: "/run/bridge"}
    host_dir = sshd.home / f"isaacctl-ctr-{uuid.uuid4().hex[:6]}"
    deployment_id = None
    try:
        deployed = docker_run(
            image,
            "deploy",
            "ssh",
            "--name",
            "lab",
            "--host",
            "gpu-box",
            "--gpus",
            "none",
            "--image",
            standin_image_local,
            "--host-dir",
            str(host_dir),
            "--json",
            mounts=mounts,
            timeout=600,
        )
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        deployment_id = json.loads(deployed.stdout)["data"]["id"]
        trained = docker_run(
            image,
            "train",
            "--task",
            "Isaac-Cartpole-v0",
            "--max-iterations",
            "3",
            "--follow",
            mounts=mounts,
            timeout=600,
        )
        assert trained.returncode == 0, trained.stdout + trained.stderr
        assert "[isaacctl] exit status 0" in trained.stdout
        fetched = docker_run(image, "fetch-logs", "--json", mounts=mounts)  # rsync over the system ssh
        assert fetched.returncode == 0, fetched.stderr
        job = json.loads(fetched.stdout)["data"]["jobs"][0]
        assert job["checkpoints"] >= 1 and job["metric_rows"] >= 1
        # what the container wrote is the user's, and secrets and pins kept their modes
        folder = state / "lab"
        for path in [folder, *folder.rglob("*")]:
            assert path.lstat().st_uid == UID, path
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "known_hosts").stat().st_mode) == 0o600
        assert stat.S_IMODE((folder / "deployment.json").stat().st_mode) == 0o600
        assert stat.S_IMODE((dot_ssh / "id_lab").stat().st_mode) == 0o600
        assert (folder / "known_hosts").read_text().startswith("lab ")  # pinned under the alias
        assert (state / "lab" / "artifacts").is_dir()
        destroyed = docker_run(image, "destroy", "lab", "--yes", mounts=mounts)
        assert destroyed.returncode == 0, destroyed.stderr
        assert not (state / "lab").exists()
    finally:
        bridge.close()
        if deployment_id:
            ids = subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"label=isaacctl.deployment-id={deployment_id}"],
                capture_output=True,
                text=True,
            ).stdout.split()
            if ids:
                subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
