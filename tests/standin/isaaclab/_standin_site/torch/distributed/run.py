"""isaacctl stand-in for `python -m torch.distributed.run` (torchrun).

Accepts torchrun's arguments, but runs the training script ONCE, in this
process, as local rank 0 of this node, with LOCAL_RANK/RANK/WORLD_SIZE/
LOCAL_WORLD_SIZE/MASTER_ADDR/MASTER_PORT set as torchrun would. It prints
that it simulates N processes. Nothing listens on or connects to any port.
"""

import argparse
import os
import runpy
import sys


def _parser():
    p = argparse.ArgumentParser(prog="torchrun", description="Torch Distributed Elastic Training Launcher")
    p.add_argument("--nnodes", type=str, default="1:1")
    p.add_argument("--nproc_per_node", "--nproc-per-node", type=str, default="1")
    p.add_argument("--node_rank", "--node-rank", type=int, default=0)
    p.add_argument("--rdzv_backend", "--rdzv-backend", type=str, default="static")
    p.add_argument("--rdzv_endpoint", "--rdzv-endpoint", type=str, default="")
    p.add_argument("--rdzv_id", "--rdzv-id", type=str, default="none")
    p.add_argument("--rdzv_conf", "--rdzv-conf", type=str, default="")
    p.add_argument("--standalone", action="store_true")
    p.add_argument("--max_restarts", "--max-restarts", type=int, default=0)
    p.add_argument("--monitor_interval", "--monitor-interval", type=float, default=0.1)
    p.add_argument("--master_addr", "--master-addr", type=str, default="127.0.0.1")
    p.add_argument("--master_port", "--master-port", type=int, default=29500)
    p.add_argument("--local_addr", "--local-addr", type=str, default=None)
    p.add_argument("--log_dir", "--log-dir", type=str, default=None)
    p.add_argument("--redirects", "-r", type=str, default="0")
    p.add_argument("--tee", "-t", type=str, default="0")
    p.add_argument("--module", "-m", action="store_true")
    p.add_argument("--no_python", "--no-python", action="store_true")
    p.add_argument("training_script", type=str)
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    nnodes = int(str(args.nnodes).split(":")[-1])
    nproc = args.nproc_per_node
    if nproc in ("gpu", "auto"):
        nproc = "1"
    nproc = int(nproc)
    world = nnodes * nproc
    rank = args.node_rank * nproc
    if args.rdzv_endpoint:
        host, _, port = args.rdzv_endpoint.rpartition(":")
        master_addr, master_port = host or args.rdzv_endpoint, port or str(args.master_port)
    else:
        master_addr, master_port = args.master_addr, str(args.master_port)
    if nproc > 1:
        print("WARNING:torch.distributed.run:\n*****************************************\n"
              "Setting OMP_NUM_THREADS environment variable for each process to be 1 in default, to avoid "
              "your system being overloaded, please further tune the variable for optimal performance in your "
              "application as needed. \n*****************************************", file=sys.stderr)
    print(f"[STANDIN] torch.distributed.run: simulating {nproc} process(es) on node {args.node_rank} "
          f"of {nnodes} (world size {world}); running local rank 0 (global rank {rank}) only", flush=True)
    os.environ.update({
        "LOCAL_RANK": "0", "RANK": str(rank), "GROUP_RANK": str(args.node_rank),
        "WORLD_SIZE": str(world), "LOCAL_WORLD_SIZE": str(nproc),
        "MASTER_ADDR": master_addr, "MASTER_PORT": master_port,
        "TORCHELASTIC_RUN_ID": args.rdzv_id, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    })
    sys.argv = [args.training_script] + list(args.training_script_args)
    if args.module:
        runpy.run_module(args.training_script, run_name="__main__", alter_sys=True)
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(args.training_script)))
        runpy.run_path(args.training_script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
