"""isaacctl's managed-training hook on a workstation (services/managed/boot_hook.py). Python 3
standard library only: it runs on the host, at boot (a systemd unit) and when the controller asks.

Every managed run has a resume description, JOB_DIR/managed.json, written by the controller
when it submits or resumes the run (no secret is in it: the same argv Docker already keeps):
  job, run, runtime, library, total_iterations, restarts_left, state (active, claimed,
  superseded, cancelled, done, failed), handle, handle_template, launch, resume_command, fresh_command,
  hand_over, and for a run this hook started: started_by "boot", started_at, resumed_from.

Subcommands (ROOT is the deployment's host folder; every one holds ROOT/managed/lock, so the
boot hook and a controller never both start a run for the same job):
  boot ROOT       resume each active run that the machine's stop cut short, from its newest
                  checkpoint on this disk (the unit's ExecStart)
  write ROOT      stdin {"description", "supersedes"}: the description of a run just started
  settle ROOT RUN STATE
                  prints {"found", "chain", "state"}: the runs this hook started after RUN
                  (RUN's successors); when there are none RUN's state becomes STATE ("-": as is)
  install ROOT    stdin {"script", "unit", "unit_name"}: this file and its systemd unit
"""

import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time

# How a run the machine's stop cut short ends: SIGKILL (137) and SIGTERM (143) at shutdown,
# 255 where Docker restores a container its daemon lost uncleanly. A run's own error exit
# (1, 70, ...) or an interrupt (cancel: 130) is never resumed.
CUT_SHORT = (137, 143, 255)
CHECKPOINT = {"rsl_rl": re.compile(r"model_(\d+)\.pt")}
DOCKER_WAIT_SECONDS = 120


def log(root, message):
    line = "{} {}".format(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), message)
    print(line, flush=True)
    try:
        with open(os.path.join(root, "managed", "boot.log"), "a") as handle:
            handle.write(line + "\n")
    except OSError:
        pass


def locked(root):
    folder = os.path.join(root, "managed")
    os.makedirs(folder, exist_ok=True)
    handle = open(os.path.join(folder, "lock"), "a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def desc_path(root, run):
    return os.path.join(root, "jobs", run, "managed.json")


def read_desc(root, run):
    try:
        with open(desc_path(root, run)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def chain_after(root, run):
    """The runs started after RUN by this hook, oldest first."""
    found, seen = [], {run}
    desc = read_desc(root, run)
    while desc and desc.get("superseded_by") and desc["superseded_by"] not in seen:
        seen.add(desc["superseded_by"])
        desc = read_desc(root, desc["superseded_by"])
        if desc is None:
            break
        found.append(desc)
    return found


# -- how a run ended -----------------------------------------------------------------------
def docker_ready():
    deadline = time.monotonic() + DOCKER_WAIT_SECONDS
    while True:
        try:
            if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0:
                return True
        except (OSError, subprocess.SubprocessError):
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(2)


def container_end(handle):
    """'running', an exit code, or None (no such container)."""
    result = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Status}}|{{.State.ExitCode}}", handle],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        return None
    status, _, code = result.stdout.strip().partition("|")
    if status in ("created", "running", "restarting", "paused"):
        return "running"
    return int(code) if code.lstrip("-").isdigit() else None


def process_end(folder):
    """The pip runtime's job folder: 'running', its exit status, or 137 for a runner that died
    with the machine (no exit-status written)."""
    try:
        with open(os.path.join(folder, "exit-status")) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(folder, "pid")) as handle:
            pid, start = handle.read().split()
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        if fields[19] == start and fields[0] != "Z":
            return "running"
    except (OSError, ValueError, IndexError):
        pass
    return 137 if os.path.exists(os.path.join(folder, "pid")) else None


# -- resuming ------------------------------------------------------------------------------
def newest_checkpoint(logs, library):
    """(path relative to logs/, iteration) of the newest run folder's newest checkpoint."""
    pattern = CHECKPOINT.get(library)
    best = None
    for parent, _, files in os.walk(logs):
        for name in files:
            matched = pattern.fullmatch(name) if pattern else None
            if matched is None:
                continue  # rsync's temporary names (.model_40.pt.Ab12Cd) included
            relative = os.path.relpath(os.path.join(parent, name), logs)
            parts = relative.split("/")
            if len(parts) != 4:
                continue
            key = (parts[2], int(matched.group(1)))
            if best is None or key > best[0]:
                best = (key, relative)
    return None if best is None else (best[1], best[0][1])


def fill(argv, values):
    out = []
    for token in argv:
        for key, value in values.items():
            token = token.replace(f"@{key}@", value)
        out.append(token)
    return out


def new_run_id():
    return "train-{}-{}".format(time.strftime("%Y%m%d-%H%M%S", time.gmtime()), secrets.token_hex(2))


def resume(root, desc):
    old_dir = os.path.join(root, "jobs", desc["run"])
    found = newest_checkpoint(os.path.join(old_dir, "logs"), desc["library"])
    run = new_run_id()
    new_dir = os.path.join(root, "jobs", run)
    os.makedirs(os.path.join(new_dir, "logs"))
    shutil.copy2(os.path.join(old_dir, "run.sh"), os.path.join(new_dir, "run.sh"))
    if os.path.isdir(os.path.join(old_dir, "extension")):
        shutil.copytree(os.path.join(old_dir, "extension"), os.path.join(new_dir, "extension"))
    values = {"RUN": run}
    if found is None:  # cut short before its first save: the run starts over
        relative, done = None, 0
        values["ITERATIONS"] = str(desc["total_iterations"])
        command = fill(desc["fresh_command"], values)
    else:
        relative, done = found
        library, experiment, run_folder, name = relative.split("/")
        # the whole run folder: rsl_rl finds --load_run under logs/<library>/<experiment>/
        target = os.path.join(new_dir, "logs", library, experiment)
        os.makedirs(target)
        shutil.copytree(
            os.path.join(old_dir, "logs", library, experiment, run_folder),
            os.path.join(target, run_folder),
            symlinks=True,
        )
        values.update(
            RUN_FOLDER=run_folder,
            CHECKPOINT_FILE=name,
            CHECKPOINT=relative,
            ITERATIONS=str(max(1, desc["total_iterations"] - done)),
        )
        command = fill(desc["resume_command"], values)
    try:
        with open(os.path.join(old_dir, "spec.json")) as handle:
            spec = json.load(handle)
    except (OSError, ValueError):
        spec = {}
    spec.update(job=run, command=command, started_by="boot")
    write_json(os.path.join(new_dir, "spec.json"), spec)
    new = dict(
        desc,
        run=run,
        state="active",
        started_by="boot",
        started_at=time.time(),
        restarts_left=desc["restarts_left"] - 1,
        resumed_from={"run": desc["run"], "checkpoint": relative, "iteration": done},
        handle=desc["handle_template"].replace("@RUN@", run),
        command=command,
    )
    new.pop("superseded_by", None)
    write_json(desc_path(root, run), new)
    if desc.get("hand_over"):
        given = subprocess.run(fill(desc["hand_over"], values), capture_output=True, text=True, timeout=600)
        if given.returncode != 0:
            raise RuntimeError(f"cannot give {new_dir} to the image's user: {given.stderr.strip()[-300:]}")
    launch = []
    for token in fill(desc["launch"], values):
        launch += command if token == "@COMMAND@" else [token]
    started = subprocess.run(launch, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        raise RuntimeError(f"the run did not start: {started.stderr.strip()[-300:]}")
    write_json(desc_path(root, desc["run"]), dict(desc, state="superseded", superseded_by=run))
    return run, relative, done


def boot(root):
    with locked(root):
        jobs = os.path.join(root, "jobs")
        names = sorted(os.listdir(jobs)) if os.path.isdir(jobs) else []
        candidates = [d for d in (read_desc(root, name) for name in names) if d and d.get("state") == "active"]
        if not candidates:
            log(root, "no managed run to look at")
            return
        if any(d["runtime"] == "container" for d in candidates) and not docker_ready():
            log(root, f"Docker did not answer within {DOCKER_WAIT_SECONDS} s; nothing resumed")
            return
        for desc in candidates:
            name = "{} (run {})".format(desc["job"], desc["run"])
            if desc["runtime"] == "container":
                end = container_end(desc["handle"])
            else:
                end = process_end(os.path.join(jobs, desc["run"]))
            if end == "running" or end is None:
                log(root, "{}: {}; left alone".format(name, "runs" if end else "no such run on this host"))
                continue
            if end not in CUT_SHORT:
                log(root, f"{name} ended with exit {end}, not cut short; left alone")
                continue
            if desc["restarts_left"] <= 0:
                log(root, f"{name}: no restart left (--max-restarts); left alone")
                continue
            try:
                run, relative, done = resume(root, desc)
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                log(root, f"{name}: not resumed: {exc}")
                continue
            log(
                root,
                "{} was cut short (exit {}): resumed as {} from {}".format(name, end, run, relative or "the start"),
            )


def write(root, spec):
    with locked(root):
        desc = spec["description"]
        write_json(desc_path(root, desc["run"]), desc)
        old = spec.get("supersedes")
        if old and old != desc["run"]:
            before = read_desc(root, old)
            if before is not None:
                write_json(desc_path(root, old), dict(before, state="superseded", superseded_by=desc["run"]))
    print(json.dumps({"written": desc["run"]}))


def settle(root, run, state):
    with locked(root):
        desc = read_desc(root, run)
        if desc is None:
            print(json.dumps({"found": False, "chain": [], "state": None}))
            return
        chain = chain_after(root, run)
        if not chain and state != "-":  # "-": only look
            write_json(desc_path(root, run), dict(desc, state=state))
        print(json.dumps({"found": True, "chain": chain, "state": desc.get("state")}))


def privileged(argv):
    return argv if os.geteuid() == 0 else ["sudo", "-n"] + argv


def quiet(argv, data=None):
    try:
        return subprocess.run(argv, input=data, capture_output=True, text=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def install(root, spec):
    import pwd

    # the login user isaacctl bootstrapped with: it owns the job folders and may use Docker
    spec["unit"] = spec["unit"].replace("@USER@", pwd.getpwuid(os.geteuid()).pw_name)
    folder = os.path.join(root, "managed")
    os.makedirs(folder, exist_ok=True)
    script = os.path.join(folder, "boot_resume.py")
    with open(script + ".tmp", "w") as handle:
        handle.write(spec["script"])
    os.chmod(script + ".tmp", 0o755)
    os.replace(script + ".tmp", script)
    with open(os.path.join(folder, spec["unit_name"]), "w") as handle:
        handle.write(spec["unit"])
    usable = os.path.isdir("/run/systemd/system") and (os.geteuid() == 0 or quiet(["sudo", "-n", "true"]))
    target = "/etc/systemd/system/" + spec["unit_name"]
    if (
        usable
        and quiet(privileged(["tee", target]), spec["unit"])
        and quiet(privileged(["systemctl", "daemon-reload"]))
        and quiet(privileged(["systemctl", "enable", spec["unit_name"]]))
    ):
        print(json.dumps({"mode": "systemd", "note": "systemd unit {}, run at boot".format(spec["unit_name"])}))
        return
    print(json.dumps({"mode": "files", "note": f"no systemd here: the hook is in {folder}, run by nothing at boot"}))


def main(argv):
    command, root = argv[1], argv[2]
    if command == "boot":
        boot(root)
    elif command == "write":
        write(root, json.loads(sys.stdin.read()))
    elif command == "settle":
        settle(root, argv[3], argv[4])
    elif command == "install":
        install(root, json.loads(sys.stdin.read()))
    else:
        raise SystemExit(f"unknown subcommand {command!r}")


if __name__ == "__main__":
    main(sys.argv)
