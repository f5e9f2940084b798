#!/bin/bash
# Run a pipetask into an output collection once, finishing a run that stopped part way.
#
#   admin/pipetask_once.sh REPO OUTPUT pipetask [options] run -b REPO ... (without -o)
#
# The first time, the command runs with -o OUTPUT. If OUTPUT exists already without the marker
# REPO/OUTPUT.complete (a run interrupted, or with failed quanta, e.g. a full disk), it runs again with
# --skip-existing-in OUTPUT, so that only the quanta whose outputs are missing run; an empty quantum
# graph then means that nothing was missing. The marker is written once every quantum has run, and
# with it the command does nothing.
set -eu -o pipefail
repo=$1
output=$2
shift 2
marker="$repo/${output//\//_}.complete"
test -f "$marker" && exit 0
skip=()
if butler query-collections "$repo" "$output" >/dev/null 2>&1; then
    echo "$output exists in $repo without $marker: running the quanta whose outputs are missing." >&2
    skip=(--skip-existing-in "$output")
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if "$@" -o "$output" "${skip[@]}" 2>&1 | tee "$log"; then
    touch "$marker"
elif [ ${#skip[@]} -gt 0 ] && grep -q "QuantumGraph was empty" "$log"; then
    echo "Every quantum of $output had run already." >&2
    touch "$marker"
else
    exit 1
fi
