#!/usr/bin/env bash
# `make run` — start dagstudio from the project's virtualenv with the arguments given.
#
#   scripts/run.sh PYTHON [ARG...]
#
# The GUI opens sample_projects/ml_pipeline when no PATH is given. CLI commands (inspect, validate,
# export, import, --version, --help) are passed through unchanged. Without a display (neither
# DISPLAY nor WAYLAND_DISPLAY set): a --screenshot run renders offscreen; any other GUI run goes
# through `xvfb-run -a` (installed when running as root); otherwise the script says how to run.
# The Debian libraries Qt needs for the chosen way are checked first (scripts/ensure_system_deps.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=$1
shift
default_path=sample_projects/ml_pipeline
args=("$@")

case "${args[0]:-}" in
inspect | validate | export | import | --version | -h | --help)
    exec "$python" -m studio "${args[@]}"
    ;;
esac

# GUI: find out whether a PATH and a --screenshot were given.
has_path=0
screenshot=0
skip_value=0
for arg in "${args[@]}"; do
    if [[ $skip_value -eq 1 ]]; then
        skip_value=0
        continue
    fi
    case "$arg" in
    --screenshot) screenshot=1 skip_value=1 ;;
    --screenshot=*) screenshot=1 ;;
    --view | --home) skip_value=1 ;;
    gui | -*) ;;
    *) has_path=1 ;;
    esac
done
if [[ $has_path -eq 0 ]]; then
    args+=("$default_path")
fi

no_display_help() {
    cat >&2 <<MSG
No display: DISPLAY and WAYLAND_DISPLAY are unset and xvfb-run is not available.
Run DAG Studio from a desktop session, or take a screenshot without a display:

    make run ARGS='--screenshot out.png'

or install a virtual X server and run make run again:

    sudo apt-get install -y --no-install-recommends xvfb xauth
MSG
    exit 1
}

if [[ -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ]]; then
    "$here/ensure_system_deps.sh" qt x11
    exec "$python" -m studio "${args[@]}"
fi
if [[ $screenshot -eq 1 || "${QT_QPA_PLATFORM:-}" == offscreen ]]; then
    "$here/ensure_system_deps.sh" qt
    QT_QPA_PLATFORM=offscreen exec "$python" -m studio "${args[@]}"
fi
if ! command -v xvfb-run >/dev/null 2>&1 && [[ $(id -u) -ne 0 ]]; then
    no_display_help
fi
"$here/ensure_system_deps.sh" qt x11 xvfb || no_display_help
echo "No display (DISPLAY and WAYLAND_DISPLAY are unset): running under xvfb-run -a, so the window is not visible." >&2
echo "To see what it shows: make run ARGS='--screenshot out.png'" >&2
exec xvfb-run -a "$python" -m studio "${args[@]}"
