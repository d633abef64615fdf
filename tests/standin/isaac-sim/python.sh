#!/usr/bin/env bash
# Stand-in for Isaac Sim's python.sh: the system python3 plus the stand-in's
# small fake modules (torch.distributed.run) on the path.
export PYTHONPATH="/workspace/isaaclab/_standin_site${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 "$@"
