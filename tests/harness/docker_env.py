"""Docker engine, loopback registry and stand-in Isaac Lab image for the tests.

scripts/test.sh starts dockerd, starts Debian's ``docker-registry`` in the HOST network namespace
(dockerd pulls from the host namespace, and the tests run in a loopback-only namespace), pushes
the stand-in image and exports:

- ISAACCTL_TEST_REGISTRY                 127.0.0.1:<port>
- ISAACCTL_TEST_REGISTRY_USER            random user name
- ISAACCTL_TEST_REGISTRY_PASSWORD_FILE   0600 file holding the password
- ISAACCTL_TEST_IMAGE                    127.0.0.1:<port>/nvidia/isaac-lab:2.3.2
- ISAACCTL_TEST_IMAGE_LOCAL              isaacctl-test/isaac-lab:2.3.2 (same image, local tag)

Registry auth: htpasswd (bcrypt) over plain HTTP. docker 20.10 treats 127.0.0.0/8 as an
insecure registry, talks HTTP to it and sends basic auth without TLS (checked: docker login,
push and pull work; unauthenticated push/pull get "no basic auth credentials").

A developer running pytest directly (no env vars, not in an isolated namespace) gets a registry
started here instead, and the stand-in image built with tests/standin/build_image.sh.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .util import REPO_ROOT, free_port, in_ci, in_isolated_netns, is_root, port_open, tail, wait_until

IMAGE_REPO = "nvidia/isaac-lab"
IMAGE_TAG = "2.3.2"
LOCAL_STANDIN_REF = f"isaacctl-test/isaac-lab:{IMAGE_TAG}"
BUILD_SCRIPT = REPO_ROOT / "tests" / "standin" / "build_image.sh"
DOCKERD_LOG = Path("/tmp/isaacctl-dockerd.log")


class HarnessError(RuntimeError):
    pass


def docker(
    *args: str, config: Path | None = None, input: str | bytes | None = None, timeout: float = 600, check: bool = False
) -> subprocess.CompletedProcess:
    """Run the docker CLI; ``config`` is a DOCKER_CONFIG directory (credentials live there)."""
    cmd = ["docker"]
    if config is not None:
        cmd += ["--config", str(config)]
    cmd += list(args)
    text = not isinstance(input, bytes)
    res = subprocess.run(cmd, input=input, capture_output=True, text=text, timeout=timeout)
    if check and res.returncode != 0:
        raise HarnessError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res


def docker_works() -> bool:
    try:
        return docker("info", "--format", "{{.ServerVersion}}", timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _unavailable(reason: str):
    if in_ci():
        raise HarnessError(reason)
    pytest.skip(reason)


def ensure_docker(timeout: float = 60) -> bool:
    """True when the engine answers; start dockerd if we can (root, host namespace).

    Otherwise skip the test (developer machine) or fail (CI=true)."""
    if docker_works():
        return True
    if shutil.which("docker") is None or shutil.which("dockerd") is None:
        _unavailable("docker is not installed (scripts/test.sh installs docker.io)")
    if not is_root():
        _unavailable("the Docker engine is not running and only root may start dockerd")
    if in_isolated_netns():
        _unavailable(
            "the Docker engine is not running, and it must not be started inside the "
            "tests' network namespace; run scripts/test.sh (it starts dockerd)"
        )
    with open(DOCKERD_LOG, "ab") as log:
        subprocess.Popen(["dockerd"], stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        wait_until(docker_works, timeout=timeout, interval=0.5, what="dockerd")
    except TimeoutError:
        _unavailable(f"dockerd did not start within {timeout:.0f}s:\n{tail(DOCKERD_LOG)}")
    return True


@dataclass
class Registry:
    """A password-protected registry on loopback (host network namespace)."""

    address: str  # "127.0.0.1:<port>"
    user: str
    password_file: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)
    workdir: Path | None = field(default=None, repr=False)

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def ref(self, repo: str, tag: str = "latest") -> str:
        return f"{self.address}/{repo}:{tag}"

    def login(self, docker_config: Path, password: str | None = None) -> subprocess.CompletedProcess:
        """``docker login --password-stdin`` with credentials stored in ``docker_config``."""
        pw = self.password if password is None else password
        return docker(
            "login",
            "-u",
            self.user,
            "--password-stdin",
            self.address,
            config=docker_config,
            input=pw + "\n",
            timeout=60,
        )

    def logout(self, docker_config: Path) -> subprocess.CompletedProcess:
        return docker("logout", self.address, config=docker_config, timeout=60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @classmethod
    def from_env(cls) -> Registry | None:
        address = os.environ.get("ISAACCTL_TEST_REGISTRY")
        if not address:
            return None
        user = os.environ.get("ISAACCTL_TEST_REGISTRY_USER")
        pw_file = os.environ.get("ISAACCTL_TEST_REGISTRY_PASSWORD_FILE")
        if not user or not pw_file or not Path(pw_file).is_file():
            raise HarnessError(
                "ISAACCTL_TEST_REGISTRY is set but ISAACCTL_TEST_REGISTRY_USER/"
                "ISAACCTL_TEST_REGISTRY_PASSWORD_FILE are missing or unreadable"
            )
        return cls(address=address, user=user, password_file=Path(pw_file))


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
auth:
  htpasswd:
    realm: isaacctl-test-registry
    path: {htpasswd}
"""


def start_registry(base_dir: Path | None = None) -> Registry:
    """Start Debian's docker-registry on 127.0.0.1:<free port> with htpasswd (bcrypt) auth."""
    if in_isolated_netns():
        raise HarnessError(
            "no ISAACCTL_TEST_REGISTRY in the environment and this process is inside an isolated "
            "network namespace, where dockerd could not reach a registry started here; "
            "run the tests with scripts/test.sh"
        )
    for tool in ("docker-registry", "htpasswd"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed (scripts/test.sh installs docker-registry and apache2-utils)")
    work = Path(tempfile.mkdtemp(prefix="isaacctl-registry-", dir=base_dir))
    user = "u" + secrets.token_hex(6)
    password = secrets.token_urlsafe(24)
    pw_file = work / "password"
    pw_file.touch(mode=0o600)
    pw_file.write_text(password + "\n")
    htpasswd = subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True).stdout
    (work / "htpasswd").write_text(htpasswd)
    (work / "storage").mkdir()
    last = ""
    for _ in range(5):
        port = free_port()
        cfg = work / "config.yml"
        cfg.write_text(
            REGISTRY_CONFIG.format(
                storage=work / "storage", port=port, secret=secrets.token_hex(16), htpasswd=work / "htpasswd"
            )
        )
        log = open(work / "registry.log", "ab")
        proc = subprocess.Popen(
            ["docker-registry", "serve", str(cfg)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        try:
            wait_until(
                lambda proc=proc, port=port: proc.poll() is not None or port_open(port),
                timeout=20,
                what="docker-registry",
            )
        except TimeoutError:
            proc.kill()
            raise HarnessError(f"docker-registry did not start:\n{tail(work / 'registry.log')}") from None
        if proc.poll() is None:
            return Registry(address=f"127.0.0.1:{port}", user=user, password_file=pw_file, proc=proc, workdir=work)
        last = tail(work / "registry.log")
    shutil.rmtree(work, ignore_errors=True)
    raise HarnessError(f"docker-registry exited at start-up:\n{last}")


def push_standin(registry: Registry) -> str:
    """Build the stand-in image with tests/standin/build_image.sh and push it; returns its ref."""
    if not BUILD_SCRIPT.exists():
        pytest.skip(f"{BUILD_SCRIPT.relative_to(REPO_ROOT)} does not exist yet: no stand-in image")
    res = subprocess.run(["bash", str(BUILD_SCRIPT), LOCAL_STANDIN_REF], capture_output=True, text=True, timeout=1800)
    if res.returncode != 0:
        raise HarnessError(f"{BUILD_SCRIPT} failed ({res.returncode}):\n{res.stdout[-3000:]}{res.stderr[-3000:]}")
    ref = registry.ref(IMAGE_REPO, IMAGE_TAG)
    with tempfile.TemporaryDirectory(prefix="isaacctl-docker-config-") as cfg:
        docker("tag", LOCAL_STANDIN_REF, ref, check=True)
        login = registry.login(Path(cfg))
        if login.returncode != 0:
            raise HarnessError(f"docker login to {registry.address} failed: {login.stderr}")
        try:
            docker("push", ref, config=Path(cfg), check=True, timeout=1800)
        finally:
            registry.logout(Path(cfg))
            # drop the registry tag so that a test pulling it really goes to the registry
            docker("rmi", ref)
    return ref


def standin_image_local() -> str:
    """Ref of the stand-in image present in the local engine (no registry, no login)."""
    ref = os.environ.get("ISAACCTL_TEST_IMAGE_LOCAL") or LOCAL_STANDIN_REF
    if docker("image", "inspect", ref, timeout=60).returncode == 0:
        return ref
    if not BUILD_SCRIPT.exists():
        pytest.skip(f"{BUILD_SCRIPT.relative_to(REPO_ROOT)} does not exist yet: no stand-in image")
    res = subprocess.run(["bash", str(BUILD_SCRIPT), ref], capture_output=True, text=True, timeout=1800)
    if res.returncode != 0:
        raise HarnessError(f"{BUILD_SCRIPT} failed ({res.returncode}):\n{res.stdout[-3000:]}{res.stderr[-3000:]}")
    return ref


def standin_image(registry: Registry) -> str:
    """Image ref of the stand-in Isaac Lab image in ``registry``."""
    ref = os.environ.get("ISAACCTL_TEST_IMAGE")
    if ref:
        return ref
    return push_standin(registry)
