"""Start-up: `isaacctl --help`, and `list`, `status` and `jobs` over 50 deployments of mixed
providers (aws, gcp, azure, alibaba, ssh, local), each beside `python -c pass` measured in the
same run. Issue 18's goals: --help <= 2.5x `python -c pass`, list <= 0.1 s; status and jobs
import no cloud SDK (checked by tests/test_startup.py, not timed). `--help`, `list` and
`status NAME` have shortcuts (cli/shortcuts.py); `jobs` runs the full typer and pydantic path.

Each command is timed after one warm-up run, as a user meets it from the second run on: .pyc
files written (PYTHONDONTWRITEBYTECODE is cleared, as an installed wheel has them) and the
start-up cache filled (src/isaacctl/startup_cache.py). `list` is also timed with the shortcuts
off (the full typer and pydantic path, what the first run after an upgrade costs)."""

from __future__ import annotations

import json
import sys
import tempfile
import time

from suites.common import isaacctl_argv, median_seconds, row

CLOUD_TYPES = {
    "aws": "g6e.xlarge",
    "gcp": "g2-standard-4",
    "azure": "Standard_NV36ads_A10_v5",
    "alibaba": "ecs.gn7i-c8g1.2xlarge",
}
PROVIDERS = (*CLOUD_TYPES, "ssh", "local")


def _mixed_deployments(state_dir: str, count: int = 50) -> None:
    """`count` deployments, the providers in turn; clouds with an instance running for an hour
    (so list prices it), every one with a finished job."""
    from isaacctl.records import DeploymentRecord, GpuFact, HostFacts, JobRecord, Node, SshEndpoint
    from isaacctl.state import StateStore

    store = StateStore(state_dir)
    started = time.time() - 3600
    for index in range(count):
        provider = PROVIDERS[index % len(PROVIDERS)]
        name = f"{provider}-{index:02d}"
        cloud = provider in CLOUD_TYPES
        endpoint = None if provider == "local" else SshEndpoint(host=f"198.51.100.{index}", host_key_alias=name)
        facts = HostFacts(os="Ubuntu 22.04", gpus=[GpuFact(model="NVIDIA L40S", memory_mib=46068)])
        node = Node(
            instance_id=f"i-{index:08x}" if cloud else None,
            public_ip=endpoint.host if endpoint else None,
            ssh=endpoint,
            state="running" if cloud else None,
            facts=facts,
        )
        store.save(
            DeploymentRecord(
                name=name,
                provider=provider,
                status="ready",
                region="region-1" if cloud else None,
                instance_type=CLOUD_TYPES.get(provider),
                market="on-demand" if cloud else None,
                options={"region": "region-1"} if cloud else {"host": endpoint.host} if endpoint else {},
                nodes=[node],
            )
        )
        if cloud:
            created = {"event": "resource.created", "kind": "instance", "id": node.instance_id}
            event = {"ts": started, **created, "instance_type": CLOUD_TYPES[provider], "market": "on-demand"}
            store.paths(name).events.write_text(json.dumps(event) + "\n")
        store.save_job(
            JobRecord(
                id=f"train-{index:02d}",
                deployment=name,
                mode="train",
                task="Isaac-Cartpole-Direct-v0",
                rl_library="rsl_rl",
                spec={},
                command=["true"],
                container=f"isaacctl-{name}-train",
                host_dir=f"/srv/isaacctl/jobs/train-{index:02d}",
                status="succeeded",
                exit_code=0,
            )
        )


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 21
    with tempfile.TemporaryDirectory() as state_dir, tempfile.TemporaryDirectory() as cache_dir:
        _mixed_deployments(state_dir)
        env = {
            "ISAACCTL_STATE_DIR": state_dir,
            "ISAACCTL_CACHE_DIR": cache_dir,
            "NO_COLOR": "1",
            "PYTHONDONTWRITEBYTECODE": "",
        }
        python = median_seconds([sys.executable, "-c", "pass"], repeat, env)
        help_time = median_seconds(isaacctl_argv("--help"), repeat, env)
        list_time = median_seconds(isaacctl_argv("list"), repeat, env)
        list_json = median_seconds(isaacctl_argv("list", "--json"), repeat, env)
        list_full = median_seconds(isaacctl_argv("list"), repeat, {**env, "ISAACCTL_NO_SHORTCUTS": "1"})
        status_time = median_seconds(isaacctl_argv("status", "aws-00"), repeat, env)
        jobs_time = median_seconds(isaacctl_argv("jobs"), repeat, env)
    no_sdk = "no cloud SDK imported"
    return [
        row("python -c pass (reference)", python),
        row("isaacctl --help", help_time, reference=python, against="python", goal="<= 2.5x python"),
        row("isaacctl list (50 mixed)", list_time, reference=python, against="python", goal="<= 0.10 s"),
        row("isaacctl list --json (50 mixed)", list_json, reference=python, against="python", goal="<= 0.10 s"),
        row("isaacctl list (50 mixed, no shortcuts)", list_full, reference=python, against="python"),
        row("isaacctl status (50 mixed)", status_time, reference=python, against="python", goal=no_sdk),
        row("isaacctl jobs (50 mixed, 50 jobs)", jobs_time, reference=python, against="python", goal=no_sdk),
    ]
