#!/usr/bin/env bash
# Create, or reuse, the project's Python environment and link it as .venv in the clone.
#
# The virtual environment lives outside the clone, in
#   ${MEAS_REALBOGUS_ENV_ROOT:-$HOME/.cache/meas_realbogus}/venv-<key>
# where <key> hashes requirements.txt, constraints.txt and the Python version, so CI runs and
# later sessions on the same machine reuse it instead of reinstalling torch.
# Usage: admin/make_env.sh [--print-path]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
env_root=${MEAS_REALBOGUS_ENV_ROOT:-$HOME/.cache/meas_realbogus}

find_python() {
    # An explicit choice wins, and must be good: no silent fallback to another interpreter.
    if [ -n "${MEAS_REALBOGUS_PYTHON:-}" ]; then
        if "$MEAS_REALBOGUS_PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' \
            >/dev/null 2>&1; then
            command -v "$MEAS_REALBOGUS_PYTHON" 2>/dev/null || echo "$MEAS_REALBOGUS_PYTHON"
            return 0
        fi
        echo "make_env.sh: MEAS_REALBOGUS_PYTHON=$MEAS_REALBOGUS_PYTHON is not a Python >= 3.12." >&2
        return 1
    fi
    # On PATH, then pyenv's versions (pyenv on PATH, or PYENV_ROOT, or ~/.pyenv).
    local candidates=(python3.12 python3.13 python3.14 python3)
    local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
    if command -v pyenv >/dev/null 2>&1; then
        pyenv_root=$(pyenv root)
    fi
    candidates+=("$pyenv_root"/versions/3.1[2-9]*/bin/python3)
    local c
    for c in "${candidates[@]}"; do
        if "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
            command -v "$c" 2>/dev/null || echo "$c"
            return 0
        fi
    done
    echo "make_env.sh: no Python >= 3.12 on PATH or under pyenv ($pyenv_root);" \
        "set MEAS_REALBOGUS_PYTHON to one." >&2
    return 1
}

python=$(find_python)
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
key=$( (cat "$root/requirements.txt" "$root/constraints.txt"; echo "python=$version") | sha256sum | cut -c1-16)
venv="$env_root/venv-py$version-$key"

if [ "${1:-}" = "--print-path" ]; then
    echo "$venv"
    exit 0
fi

mkdir -p "$env_root"
exec 9>"$env_root/.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
    echo "make_env.sh: creating $venv with $python (a few minutes the first time: torch is large)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored: it is neither" >&2 || true
    "$venv/bin/python" -m pip install --quiet -r "$root/requirements.txt" -c "$root/constraints.txt" 2>&1 \
        | grep -v "is ignored: it is neither" >&2 || true
    # The install above filters pip's noise; check that it really worked.
    "$venv/bin/python" -c 'import torch, galsim, sep, lsst.daf.butler, lsst.pipe.base, lsst.images' \
        || { echo "make_env.sh: installation into $venv failed" >&2; exit 1; }
    touch "$venv/.complete"
fi
ln -sfn "$venv" "$root/.venv"
echo "$venv"
