#!/usr/bin/env python3
"""isaacctl's autostop watchdog. It runs ON the workstation (a systemd timer every minute, or
`--loop` where there is no systemd), so a closed laptop or a lost state folder cannot leak a
GPU. Python 3 standard library only: nothing is installed for it.

The host is active when any of these holds at a check, and idle only when none held at every
check of the whole period:
  - a container labelled with this deployment's id runs (jobs, TensorBoard), or a pip-runtime
    job's (or TensorBoard's) process group lives (pid files under the host folder);
  - a job was queued (its spec.json written) and has not finished, for up to QUEUED_SECONDS;
  - an interactive SSH session is open (an sshd session process on a pts);
  - a GPU's utilisation is at or over the threshold (nvidia-smi, when there is one);
  - the activity file was touched within the period (`isaacctl autostop`, or by hand).
A budget (--max-cost, --max-hours) stops the machine even while it is busy: that is its point.

Files, all in the folder holding this script (the deployment's <host dir>/autostop/):
  config.json      what isaacctl installed (no secret: clouds are reached with the VM's own
                   identity, never the user's credentials)
  state.json       the idle clock, running seconds, the last decision (survives restarts)
  decisions.log    one JSON line per decision that changed something, for `isaacctl status`
  activity         touch it to count as activity

Tests only: ISAACCTL_AUTOSTOP_POWEROFF (a command run instead of `shutdown -h now`, since a test
cannot power off the machine running it) and ISAACCTL_AUTOSTOP_IMDS (the Azure metadata service).
"""

import argparse
import glob
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.parse
import urllib.request

QUEUED_SECONDS = 300
LOG_KEEP_BYTES = 512 * 1024
AZURE_IMDS = "http://169.254.169.254"
AZURE_ARM = "https://management.azure.com"
AZURE_API = "2024-07-01"


def read_json(path, default):
    try:
        with open(path) as handle:
            data = json.load(handle)
        return data if isinstance(data, dict) else default
    except (OSError, ValueError):
        return default


def write_json(path, data):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as handle:
        json.dump(data, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def run(argv, timeout=20):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout
    except (OSError, subprocess.SubprocessError):
        return None, ""


def process_alive(pid, start=None):
    try:
        with open("/proc/%s/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    # a zombie has ended; a recorded start time tells a reused pid apart
    return fields[0] != "Z" and (start is None or fields[19] == start)


# -- what counts as activity ---------------------------------------------------------------
def running_containers(config):
    ident = config.get("deployment_id")
    if not ident:
        return []
    code, out = run(["docker", "ps", "--quiet", "--filter", "label=isaacctl.deployment-id=" + ident,
                     "--format", "{{.Names}}"])
    return out.split() if code == 0 else []


def live_host_jobs(host_root):
    """pip-runtime jobs (a pid file with its start time, no exit-status yet) and TensorBoard."""
    live = []
    for folder in glob.glob(os.path.join(host_root, "jobs", "*")):
        if os.path.exists(os.path.join(folder, "exit-status")):
            continue
        try:
            with open(os.path.join(folder, "pid")) as handle:
                pid, start = handle.read().split()[:2]
        except (OSError, ValueError):
            continue
        if process_alive(pid, start):
            live.append(os.path.basename(folder))
    try:
        with open(os.path.join(host_root, "tensorboard.pid")) as handle:
            pid = handle.read().split()[0]
        if process_alive(pid):
            live.append("tensorboard")
    except (OSError, IndexError):
        pass
    return live


def queued_jobs(host_root, now):
    queued = []
    for spec in glob.glob(os.path.join(host_root, "jobs", "*", "spec.json")):
        folder = os.path.dirname(spec)
        if any(os.path.exists(os.path.join(folder, name)) for name in ("exit-status", "pid")):
            continue
        try:
            if now - os.stat(spec).st_mtime < QUEUED_SECONDS:
                queued.append(os.path.basename(folder))
        except OSError:
            continue
    return queued


def ssh_sessions():
    """Interactive sessions: sshd's per-session process names its tty ("sshd: ann@pts/0";
    OpenSSH 9.8 calls it sshd-session). Commands isaacctl runs have no tty ("@notty")."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if cmdline.startswith(("sshd: ", "sshd-session: ")) and "@pts/" in cmdline:
            found.append(cmdline.split(": ", 1)[1])
    return sorted(set(found))


def gpu_busy(threshold):
    code, out = run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"])
    if code != 0:
        return None  # no GPU, or no driver: not a reason to keep the machine
    values = []
    for line in out.splitlines():
        try:
            values.append(float(line.strip()))
        except ValueError:
            continue
    busy = [v for v in values if v >= threshold]
    return max(busy) if busy else None


def activity(config, folder, now, period):
    host_root = config.get("host_root") or os.path.dirname(folder)
    reasons = []
    containers = running_containers(config)
    if containers:
        reasons.append("containers running: " + ", ".join(sorted(containers)[:3]))
    jobs = live_host_jobs(host_root)
    if jobs:
        reasons.append("running: " + ", ".join(sorted(jobs)[:3]))
    queued = queued_jobs(host_root, now)
    if queued:
        reasons.append("job queued: " + ", ".join(sorted(queued)[:3]))
    sessions = ssh_sessions()
    if sessions:
        reasons.append("SSH session open: " + ", ".join(sessions[:3]))
    busy = gpu_busy(float(config.get("gpu_threshold", 10.0)))
    if busy is not None:
        reasons.append("GPU at %g%%" % busy)
    try:
        touched = os.stat(os.path.join(folder, "activity")).st_mtime
        if now - touched < period:
            reasons.append("activity %ds ago" % (now - touched))
    except OSError:
        pass
    return reasons


# -- how the machine is stopped ------------------------------------------------------------
def privileged(argv):
    return argv if os.geteuid() == 0 else ["sudo", "-n", *argv]


def guest_shutdown(config, action):
    """AWS (shutdown behaviour "stop", set at creation), GCP and Alibaba: a shutdown from inside
    stops the instance; isaacctl's next command finds it stopped, and for `destroy` deletes the
    rest with the user's credentials (the guest has none)."""
    override = os.environ.get("ISAACCTL_AUTOSTOP_POWEROFF")
    argv = shlex.split(override) if override else privileged(["shutdown", "-h", "now"])
    code, out = run(argv, timeout=120)
    if code != 0:
        raise RuntimeError("%s exited %s: %s" % (" ".join(argv), code, out.strip()[-200:]))
    return "guest shutdown (%s)" % " ".join(argv)


def http(method, url, headers, timeout=30):
    request = urllib.request.Request(url, method=method, headers=headers, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - fixed endpoints
        return answer.status, answer.read(), answer.headers


def azure(config, action):
    """Only a deallocation ends an Azure VM's compute bill: asked of Resource Manager with the
    VM's own managed identity (a token from its metadata service; the identity holds Virtual
    Machine Contributor on the deployment's resource group only), never the user's
    credentials. That role cannot delete the group, so `destroy` deallocates too and the
    controller's next command deletes the rest."""
    imds = os.environ.get("ISAACCTL_AUTOSTOP_IMDS", AZURE_IMDS).rstrip("/")
    arm = (config.get("arm_endpoint") or AZURE_ARM).rstrip("/")
    query = urllib.parse.urlencode({"api-version": "2018-02-01", "resource": AZURE_ARM + "/"})
    _, body, _ = http("GET", "%s/metadata/identity/oauth2/token?%s" % (imds, query), {"Metadata": "true"})
    token = json.loads(body.decode())["access_token"]
    vm = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (
        config["subscription"], config["resource_group"], config["vm"])
    auth = {"Authorization": "Bearer " + token}
    status, _, headers = http("POST", "%s%s/deallocate?api-version=%s" % (arm, vm, AZURE_API), auth)
    operation = headers.get("Azure-AsyncOperation")
    deadline = time.time() + 600
    while operation and time.time() < deadline:
        # followed while the VM still runs: on Azure this process ends with the deallocation
        try:
            _, body, _ = http("GET", operation, auth)
        except OSError:
            break
        state = json.loads(body.decode() or "{}").get("status")
        if state not in (None, "InProgress"):
            return "deallocation %s, asked with the VM's identity" % state.lower()
        time.sleep(2)
    return "deallocation asked with the VM's identity (HTTP %s)" % status


def user_command(config, action):
    """local and ssh: isaacctl owns no machine there; only what the user configured runs."""
    command = config.get("command")
    if not command:
        raise RuntimeError("no autostop command configured")
    code, out = run(["sh", "-c", command], timeout=300)
    if code != 0:
        raise RuntimeError("%r exited %s: %s" % (command, code, out.strip()[-200:]))
    return "ran %r" % command


ROUTES = {"shutdown": guest_shutdown, "azure": azure, "command": user_command}


# -- one check -----------------------------------------------------------------------------
def log_decision(folder, entry):
    path = os.path.join(folder, "decisions.log")
    try:
        if os.path.getsize(path) > LOG_KEEP_BYTES:
            os.replace(path, path + ".1")
    except OSError:
        pass
    with open(path, "a") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def check(folder, now=None):
    now = time.time() if now is None else now
    config = read_json(os.path.join(folder, "config.json"), {})
    state_path = os.path.join(folder, "state.json")
    state = read_json(state_path, {})
    if not config:
        return {"decision": "off", "reason": "no config.json"}
    boot = boot_id()
    if state.get("config_id") != config.get("config_id"):
        # newly installed or changed settings: the clocks start again
        state = {"config_id": config.get("config_id"), "run_seconds": 0.0}
    if state.get("boot_id") != boot:
        # a (re)started machine: its start was activity, and the time it was off cost nothing
        state.update(boot_id=boot, idle_since=None, last_check=None, acted_at=None)
    interval = float(config.get("interval_s", 60))
    if state.get("last_check"):
        # gaps longer than a few intervals were a stopped timer, not time we can vouch for
        state["run_seconds"] = state.get("run_seconds", 0.0) + min(now - state["last_check"], 5 * interval)
    state["last_check"] = now
    period = config.get("idle_seconds")
    reasons = activity(config, folder, now, period or interval)
    hours = float(config.get("spent_hours", 0.0)) + state["run_seconds"] / 3600.0
    cost = float(config.get("spent_usd", 0.0)) + float(config.get("hourly_usd") or 0.0) * state["run_seconds"] / 3600.0
    over = None
    if config.get("max_hours") is not None and hours >= float(config["max_hours"]):
        over = "ran %.2f h, the limit is %g h" % (hours, float(config["max_hours"]))
    elif config.get("max_cost_usd") is not None and config.get("hourly_usd") and cost >= float(config["max_cost_usd"]):
        over = "cost about $%.2f, the limit is $%g" % (cost, float(config["max_cost_usd"]))
    if reasons:
        state["idle_since"] = None
    elif state.get("idle_since") is None:
        state["idle_since"] = now
    idle_for = 0.0 if state.get("idle_since") is None else now - state["idle_since"]
    action = config.get("action", "stop")
    if over:
        decision, reason, act = action, "over budget: " + over, True
    elif period and not reasons and idle_for >= period:
        decision, reason, act = action, "idle for %ds (limit %ds)" % (idle_for, period), True
    elif reasons:
        decision, reason, act = "active", "; ".join(reasons), False
    elif period:
        decision, reason, act = "idle", "idle for %ds of %ds" % (idle_for, period), False
    else:
        decision, reason, act = "watching", "no idle limit; budget used: %.2f h, $%.2f" % (hours, cost), False
    if act and state.get("acted_at") and now - state["acted_at"] < max(period or 0, 5 * interval):
        # asked already: the machine is on its way down (or was resumed and must idle again)
        decision, reason, act = "waiting", "%s asked %ds ago" % (action, now - state["acted_at"]), False
    entry = {"at": now, "decision": decision, "reason": reason, "idle_for_s": round(idle_for, 1),
             "hours": round(hours, 3), "cost_usd": round(cost, 2)}
    if act:
        state["acted_at"] = now
        entry["route"] = config.get("route", "shutdown")
        # logged before acting: a shutdown may not leave time to log afterwards
        log_decision(folder, entry)
        write_json(state_path, {**state, "last": entry})
        try:
            entry["done"] = ROUTES[entry["route"]](config, action)
        except Exception as exc:  # noqa: BLE001 - logged for `isaacctl status`, tried again next period
            entry = {**entry, "decision": "failed", "reason": "%s failed: %s" % (action, exc)}
            state["acted_at"] = None
        log_decision(folder, entry)
    elif (state.get("last") or {}).get("decision") != decision:
        log_decision(folder, entry)
    state["last"] = entry
    write_json(state_path, state)
    return entry


def main(argv=None):
    parser = argparse.ArgumentParser(description="isaacctl autostop watchdog")
    parser.add_argument("--dir", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--loop", action="store_true", help="check every interval until killed (no systemd)")
    args = parser.parse_args(argv)
    if not args.loop:
        print(json.dumps(check(args.dir)))
        return 0
    pid_file = os.path.join(args.dir, "watchdog.pid")
    with open(pid_file, "w") as handle:
        handle.write("%d\n" % os.getpid())
    while True:
        config = read_json(os.path.join(args.dir, "config.json"), {})
        if not config:
            return 0  # uninstalled
        try:
            check(args.dir)
        except Exception as exc:  # noqa: BLE001 - one bad check must not end the watch
            sys.stderr.write("autostop check failed: %s\n" % exc)
        time.sleep(float(config.get("interval_s", 60)))


if __name__ == "__main__":
    sys.exit(main())
