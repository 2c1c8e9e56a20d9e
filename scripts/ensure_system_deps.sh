#!/usr/bin/env bash
# Make sure the Debian packages DAG Studio needs are installed.
#
#   scripts/ensure_system_deps.sh [GROUP...]      GROUP: qt (default), x11, xvfb, python, venv, build, docker
#
# qt      the libraries PySide6's Qt needs, also when rendering offscreen (tests, --screenshot)
# x11     the xcb libraries of Qt's X11 platform plugin (a window on a real or virtual X server)
# xvfb    a virtual X server for machines without a display: xvfb-run
# python  python3
# venv    python3-venv (python3 -m venv fails without it on Debian)
# build   what a fresh machine needs before the Makefile can run: make, python3, python3-venv
# docker  what the Docker tests need for their private daemon: dockerd and the docker CLI (docker.io),
#         a static busybox for the test image (busybox-static); see tests/docker_daemon.py
#
# Missing packages are installed with apt-get when running as root (apt-get update only when
# something is missing); otherwise the exact `sudo apt-get install ...` command is printed and the
# script exits 1. On a system without dpkg/apt-get nothing is checked (a note is printed).
set -euo pipefail

declare -A PKG_GROUPS=(
    [qt]="libglib2.0-0 libgl1 libxkbcommon0 libegl1 libfreetype6 libfontconfig1 libdbus-1-3"
    [x11]="libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0 libxcb-image0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 libx11-xcb1"
    [xvfb]="xvfb xauth"
    [python]="python3"
    [venv]="python3-venv"
    [build]="make python3 python3-venv"
    [docker]="docker.io busybox-static"
)

wanted=()
for group in "${@:-qt}"; do
    if [[ -z "${PKG_GROUPS[$group]+x}" ]]; then
        echo "ensure_system_deps: unknown group '$group' (known: ${!PKG_GROUPS[*]})" >&2
        exit 2
    fi
    read -r -a pkgs <<<"${PKG_GROUPS[$group]}"
    wanted+=("${pkgs[@]}")
done

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_system_deps: not a Debian-like system (no dpkg/apt-get); not checking: ${wanted[*]}" >&2
    exit 0
fi

missing=()
for pkg in "${wanted[@]}"; do
    # dpkg -s succeeds for removed-but-configured packages too; require the "install ok installed" status.
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    {
        echo "DAG Studio needs these Debian packages, which are not installed: ${missing[*]}"
        echo "Install them with:"
        echo
        echo "    sudo apt-get install -y --no-install-recommends ${missing[*]}"
        echo
        echo "then run make again."
    } >&2
    exit 1
fi

echo "Installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    # A fresh image has no package lists yet: fetch them once, then try again.
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi
