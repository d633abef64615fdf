"""The bootstrap steps, in order. Each has a check (is it already done?), an action, and the
inputs its digest covers: a changed image or version re-runs exactly what depends on it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from isaacctl.errors import HostKeyChanged, RemoteError
from isaacctl.providers.base import CONTAINER_ID_LABEL, CONTAINER_LABEL
from isaacctl.resources import template_text
from isaacctl.services.bootstrap import requirements
from isaacctl.services.bootstrap.context import HOST_FOLDERS, StepContext, StepFailed
from isaacctl.services.bootstrap.facts import parse_facts
from isaacctl.services.bootstrap.pull_progress import PullProgress


@dataclass(frozen=True)
class Step:
    name: str
    summary: str
    act: Callable[[StepContext], None]
    check: Callable[[StepContext], bool] | None = None
    inputs: Callable[[StepContext], dict[str, Any]] = lambda ctx: {}
    version: int = 1
    gpu_only: bool = False
    always_run: bool = False  # cheap steps whose results later steps need
    verify_after: bool = True  # run the check again after the action


# -- 1. reach ----------------------------------------------------------------------------------
def reach(ctx: StepContext) -> None:
    deadline = time.monotonic() + ctx.settings.reach_timeout
    delay, last_error = 1.0, ""
    while True:
        try:
            if ctx.run(["true"], timeout=30).ok:
                break
        except HostKeyChanged:
            raise
        except RemoteError as exc:
            last_error = exc.message
            ctx.reconnect()
        if time.monotonic() + delay > deadline:
            raise StepFailed(
                f"the host did not accept a login within {ctx.settings.reach_timeout:.0f} s: {last_error}",
                hint="check that the machine is up and the address, port, user and key are right",
            )
        time.sleep(delay)
        delay = min(delay * 2, 10.0)
    ctx.need(ctx.run_script("bootstrap/wait_for_host.sh", str(int(ctx.settings.reach_timeout))),
             "the host stayed busy with cloud-init or apt")


# -- 2. facts ----------------------------------------------------------------------------------
def gather_facts(ctx: StepContext) -> None:
    host_dir = str(ctx.record.options.get("host_dir", "~/isaacctl"))
    result = ctx.need(ctx.run_script("bootstrap/facts.sh", host_dir), "cannot read the host's facts")
    ctx.facts = parse_facts(result.stdout)
    ctx.node.facts = ctx.facts.facts
    if ctx.node_index == 0:  # jobs run on the head; its folder is the deployment's
        ctx.record.host_root = ctx.host_root
    problems, hints = [], []
    if not ctx.facts.python3:
        problems.append("python3 is missing on the host (isaacctl's helpers for Docker and job summaries use it)")
        hints.append("install it there: sudo apt-get install -y python3")
    if ctx.settings.gpus == "all":
        if not ctx.facts.nvidia_pci_devices and not ctx.facts.facts.gpus:
            problems.append("no NVIDIA GPU on this host (none on the PCI bus, no nvidia-smi)")
            hints.append("use a host with an RTX-class GPU, or --gpus none for a CPU-only smoke run")
        elif ctx.facts.nvidia_smi and not ctx.settings.allow_unsupported_gpu:
            # With hardware but no driver yet, the nvidia-driver step installs one first.
            if ctx.settings.runtime == "pip":  # kit-less from PyPI
                verdict = requirements.judge_gpus(ctx.facts.facts, "3.0", isaac_sim=False)
            else:
                verdict = requirements.judge_gpus(ctx.facts.facts, requirements.isaaclab_version(ctx.settings.image))
            problems += verdict.problems
            hints += [verdict.hint] if verdict.hint else []
    if not ctx.settings.allow_low_disk:
        # the pip runtime pulls no image (its environment is counted like the image)
        verdict = requirements.judge_disk(ctx.facts.facts, image_present=ctx.settings.runtime == "container"
                                          and _image_id(ctx) is not None)
        problems += verdict.problems
        hints += [verdict.hint] if verdict.hint else []
    if problems:
        raise StepFailed("; ".join(problems), hint="; ".join(hints) or None)


# -- 3. NVIDIA driver --------------------------------------------------------------------------
def driver_present(ctx: StepContext) -> bool:
    return bool(ctx.facts and ctx.facts.nvidia_smi and ctx.facts.facts.gpus)


def install_driver(ctx: StepContext) -> None:
    branch = requirements.DRIVER_BRANCH_TO_INSTALL
    ctx.need(ctx.run_script("bootstrap/install_nvidia_driver.sh", branch, sudo=True),
             "installing the NVIDIA driver failed", hint="the login needs password-less sudo")
    ctx.run(["sudo", "-n", "shutdown", "-r", "+0"], timeout=30)
    ctx.reconnect()
    time.sleep(15)  # let it go down before we start knocking
    reach(ctx)
    gather_facts(ctx)
    if not driver_present(ctx):
        raise StepFailed("the NVIDIA driver is installed but nvidia-smi sees no GPU after the reboot")


# -- 4. Docker ---------------------------------------------------------------------------------
def docker_usable(ctx: StepContext) -> bool:
    return ctx.run(["docker", "version", "--format", "{{.Server.Version}}"], timeout=60).ok


def install_docker(ctx: StepContext) -> None:
    user = ctx.facts.user if ctx.facts else ""
    ctx.need(ctx.run_script("bootstrap/install_docker.sh", user, sudo=True),
             "installing Docker failed", hint="the login needs password-less sudo")
    ctx.reconnect()  # the docker group applies to new logins only


# -- 5. NVIDIA Container Toolkit ---------------------------------------------------------------
def toolkit_configured(ctx: StepContext) -> bool:
    result = ctx.run(["docker", "info", "--format", "{{json .Runtimes}}"], timeout=60)
    return result.ok and '"nvidia"' in result.stdout


def install_toolkit(ctx: StepContext) -> None:
    ctx.need(ctx.run_script("bootstrap/install_container_toolkit.sh", sudo=True),
             "installing the NVIDIA Container Toolkit failed", hint="the login needs password-less sudo")


# -- 6 and 7. registry login and image pull ----------------------------------------------------
NGC_REGISTRY = "nvcr.io"


def image_registry(image: str) -> str | None:
    first = image.split("/", 1)[0]
    return first if "/" in image and ("." in first or ":" in first or first == "localhost") else None


def _key_registry(ctx: StepContext) -> str | None:
    """Where the key may go: nvcr.io, or the registry the user named with --registry. Any other
    registry in --image gets no key (an image name must not be a way to collect NGC keys)."""
    registry = image_registry(ctx.settings.image)
    return registry if registry is not None and registry == (ctx.settings.registry or NGC_REGISTRY) else None


def _docker_api(ctx: StepContext, *args: str, stdin: bytes | None = None, on_line=None, timeout=3600):
    return ctx.run(["python3", "-c", template_text("remote/docker_api.py"), *args], stdin=stdin,
                   timeout=timeout, shown=f"python3 docker_api.py {' '.join(args)}", on_line=on_line)


def _image_id(ctx: StepContext) -> str | None:
    """The image's id on the host; asked once per run (three steps want it), again after a pull."""
    if "image_id" in ctx.memo:
        return ctx.memo["image_id"]
    result = _docker_api(ctx, "inspect", ctx.settings.image, timeout=60)
    image_id = None
    if result.exit_status != 1:
        ctx.need(result, "cannot ask Docker about the image")
        image_id = json.loads(result.stdout.strip().splitlines()[-1])["id"]
    ctx.memo["image_id"] = image_id
    return image_id


def image_present(ctx: StepContext) -> bool:
    image_id = _image_id(ctx)
    if image_id is None:
        return False
    ctx.record.image, ctx.record.image_id = ctx.settings.image, image_id
    return True


def _key_bytes(ctx: StepContext) -> bytes | None:
    secret = ctx.registry_key()
    ctx.redact.add(secret)
    return None if secret is None else (secret.value + "\n").encode()


def registry_login(ctx: StepContext) -> None:
    registry = _key_registry(ctx)
    if registry is None:
        ctx.write_log(f"{ctx.settings.image} is not on {ctx.settings.registry or NGC_REGISTRY}: "
                      "the key is not sent, the pull will be anonymous")
        return
    key = _key_bytes(ctx)
    if key is None:
        ctx.write_log("no registry key given: the pull will be anonymous")
        return
    result = _docker_api(ctx, "auth", registry, ctx.settings.registry_user, stdin=key, timeout=120)
    if not result.ok:
        raise StepFailed(
            f"registry {registry} refused the key for user {ctx.settings.registry_user!r}: {_api_error(result.stdout)}",
            hint="check NGC_API_KEY or --ngc-api-key-file (an NGC API key, user $oauthtoken)",
        )


def _api_error(stdout: str) -> str:
    for line in reversed(stdout.strip().splitlines()):
        try:
            return str(json.loads(line).get("error") or "").strip() or line
        except json.JSONDecodeError:
            continue
    return "no answer"


class TransientPullError(StepFailed):
    """A pull that failed for a reason worth another try (timeouts, resets, 5xx, rate limits)."""


def pull_image(ctx: StepContext) -> None:
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    registry = _key_registry(ctx)
    key = _key_bytes(ctx) if registry else None
    auth = [registry, ctx.settings.registry_user] if key else []

    def attempt() -> None:
        progress = PullProgress()

        def on_line(line: str) -> None:
            if progress.feed(line):
                ctx.on_pull(progress)

        result = _docker_api(ctx, "pull", ctx.settings.image, *auth, stdin=key, on_line=on_line)
        if not result.ok:
            error = progress.error or _api_error(result.stdout)
            failure = TransientPullError if progress.transient else StepFailed
            raise failure(f"pulling {ctx.settings.image} failed: {error}",
                          hint=_pull_hint(error, bool(key), image_registry(ctx.settings.image)),
                          output_tail=ctx.redact(result.tail(5)))

    ctx.memo.pop("image_id", None)
    for trial in Retrying(stop=stop_after_attempt(3), wait=wait_exponential(min=2, max=30),
                          retry=retry_if_exception_type(TransientPullError), reraise=True):
        with trial:
            attempt()
    ctx.memo.pop("image_id", None)
    if not image_present(ctx):
        raise StepFailed(f"{ctx.settings.image} is not on the host after the pull")


def _pull_hint(error: str, had_key: bool, registry: str | None) -> str | None:
    lowered = error.lower()
    if any(word in lowered for word in ("unauthorized", "authentication required", "denied", "credentials")):
        if had_key:
            return None
        if registry is not None and registry != NGC_REGISTRY:
            return (f"this registry needs a key: set NGC_API_KEY or pass --ngc-api-key-file, and name it "
                    f"with --registry {registry} (a key is sent to nvcr.io only, unless named)")
        return "this registry needs a key: set NGC_API_KEY or pass --ngc-api-key-file"
    if "not found" in lowered or "manifest unknown" in lowered:
        return "check the image name and tag (--image)"
    return None


# -- 8. host folders ---------------------------------------------------------------------------
def _folders(ctx: StepContext) -> list[str]:
    return [f"{ctx.host_root}/{folder}" for folder in HOST_FOLDERS]


def folders_exist(ctx: StepContext) -> bool:
    tests: list[str] = []
    for folder in _folders(ctx):
        tests += ["-d", folder, "-a"]
    return ctx.run(["test", *tests[:-1]], timeout=60).ok


def make_folders(ctx: StepContext) -> None:
    ctx.need(ctx.run(["mkdir", "-p", *_folders(ctx)], timeout=60), "cannot make the host folders")


# -- 9. smoke run ------------------------------------------------------------------------------
def smoke_run(ctx: StepContext) -> None:
    gpu_args = ["--gpus", "all"] if ctx.settings.gpus == "all" else []
    probe = "test -x /workspace/isaaclab/isaaclab.sh && echo isaaclab-found"
    if gpu_args:
        probe += " && nvidia-smi -L"
    result = ctx.run(
        ["docker", "run", "--rm", *gpu_args, "--label", f"{CONTAINER_LABEL}={ctx.record.name}",
         "--label", f"{CONTAINER_ID_LABEL}={ctx.record.id}",
         "--entrypoint", "bash", ctx.settings.image, "-c", probe],
        timeout=900,
    )
    ctx.need(result, "the Isaac Lab container did not start" + (" with the GPUs" if gpu_args else ""),
             hint="a GPU failure usually means the NVIDIA Container Toolkit runtime is not configured")
    if "isaaclab-found" not in result.stdout:
        raise StepFailed(f"{ctx.settings.image} has no /workspace/isaaclab/isaaclab.sh: is it an Isaac Lab image?")


STEPS: tuple[Step, ...] = (
    Step("reach", "wait for SSH, cloud-init and apt", reach, always_run=True),
    Step("facts", "OS, CPU, memory, disk, GPUs", gather_facts, always_run=True,
         inputs=lambda ctx: {"image": ctx.settings.image}),
    Step("nvidia-driver", "NVIDIA driver", install_driver, check=driver_present, gpu_only=True,
         inputs=lambda ctx: {"branch": requirements.DRIVER_BRANCH_TO_INSTALL,
                             "script": template_text("bootstrap/install_nvidia_driver.sh")}),
    Step("docker", "Docker Engine", install_docker, check=docker_usable,
         inputs=lambda ctx: {"script": template_text("bootstrap/install_docker.sh")}),
    Step("container-toolkit", "NVIDIA Container Toolkit", install_toolkit, check=toolkit_configured,
         gpu_only=True, inputs=lambda ctx: {"script": template_text("bootstrap/install_container_toolkit.sh")}),
    Step("registry-login", "check the registry key", registry_login, check=image_present,
         verify_after=False,
         inputs=lambda ctx: {"image": ctx.settings.image, "user": ctx.settings.registry_user}),
    Step("image-pull", "pull the Isaac Lab image", pull_image, check=image_present,
         inputs=lambda ctx: {"image": ctx.settings.image}),
    Step("host-folders", "cache, log and job folders", make_folders, check=folders_exist,
         inputs=lambda ctx: {"folders": _folders(ctx)}),
    Step("smoke", "start the container once", smoke_run,
         inputs=lambda ctx: {"image_id": ctx.record.image_id, "gpus": ctx.settings.gpus}),
)

# The pip runtime's steps (services/bootstrap/pip_steps.py), after the shared ones.
from isaacctl.services.bootstrap import pip_steps  # noqa: E402

STEPS += (
    Step("python-env", "Isaac Lab in a Python environment", pip_steps.make_environment,
         check=pip_steps.environment_ready,
         inputs=lambda ctx: {"python": pip_steps.python_path(ctx), "version": pip_steps.wanted_version(ctx)}),
    # always: it is what tells the record which Python and which Isaac Lab version jobs use
    Step("isaaclab-import", "import Isaac Lab once", pip_steps.import_isaaclab, always_run=True,
         inputs=lambda ctx: {"python": pip_steps.python_path(ctx), "asset_root": ctx.settings.asset_root}),
)

# Which steps each runtime runs, in STEPS' order.
RUNTIME_STEPS = {
    "container": ("reach", "facts", "nvidia-driver", "docker", "container-toolkit", "registry-login",
                  "image-pull", "host-folders", "smoke"),
    "pip": ("reach", "facts", "nvidia-driver", "host-folders", "python-env", "isaaclab-import"),
}


def steps_for(runtime: str) -> tuple[Step, ...]:
    return tuple(step for step in STEPS if step.name in RUNTIME_STEPS[runtime])


STEP_NAMES = tuple(step.name for step in STEPS)
