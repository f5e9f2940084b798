# Source this file (bash) to use meas_realbogus from this clone:
#   source setup.sh
# It activates the environment made by `make env` (admin/make_env.sh) and puts
# this clone's python/ and bin.src/ on PYTHONPATH and PATH, as EUPS `setup` would.
_rb_root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -e "$_rb_root/.venv/bin/activate" ]; then
    echo "setup.sh: no environment yet; run 'make env' in $_rb_root first" >&2
    return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
source "$_rb_root/.venv/bin/activate"
export MEAS_REALBOGUS_DIR="$_rb_root"
export PYTHONPATH="$_rb_root/python${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$_rb_root/bin.src:$PATH"
# Butler storage classes and formatters of this package (the RealBogusModel storage class).
export DAF_BUTLER_CONFIG_PATH="$_rb_root/python/lsst/meas/realbogus/butler/configs${DAF_BUTLER_CONFIG_PATH:+:$DAF_BUTLER_CONFIG_PATH}"
unset _rb_root
