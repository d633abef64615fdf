#!/usr/bin/env bash
# isaacctl test stand-in for Isaac Lab's isaaclab.sh: only -p/--python.
#   ./isaaclab.sh -p <script.py> [args...]
#   ./isaaclab.sh -p -m <module> [args...]
# Unlike the real script, python is exec'd (no bash parent) so that
# `docker kill --signal INT` on a `bash -c "./isaaclab.sh -p ..."` container
# reaches it; the exit code is the script's either way.
set -e

ISAACLAB_PATH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export ISAACLAB_PATH

print_help() {
    echo "usage: $(basename "$0") [-h] [-p] -- Utility to manage Isaac Lab (isaacctl stand-in)."
    echo
    echo "optional arguments:"
    echo "    -h, --help   Display the help content."
    echo "    -p, --python Run the python executable provided by Isaac Sim or virtual environment (if active)."
    echo
    echo "This is isaacctl's test stand-in: -i, -f, -s, -t, -o, -v, -d, -n, -c and -u are not provided."
}

extract_python_exe() {
    if [[ -x /isaac-sim/python.sh ]]; then
        echo /isaac-sim/python.sh
    else
        command -v python3
    fi
}

if [[ $# -eq 0 ]]; then
    echo "[Error] No arguments provided." >&2
    print_help >&2
    exit 1
fi

case "$1" in
    -p|--python)
        shift
        python_exe=$(extract_python_exe)
        echo "[INFO] Using python from: ${python_exe}"
        export PYTHONPATH="${ISAACLAB_PATH}/_standin_site${PYTHONPATH:+:$PYTHONPATH}"
        exec "${python_exe}" "$@"
        ;;
    -h|--help)
        print_help
        exit 0
        ;;
    *)
        echo "[Error] Invalid argument provided: $1" >&2
        print_help >&2
        exit 1
        ;;
esac
