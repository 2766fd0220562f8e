#!/usr/bin/env bash
# Installs the Debian packages the sandbox needs (or those named as arguments;
# Go, when missing, is installed by scripts/build-sandbox-tools.sh),
# using sudo when not root. Safe to run again.
set -euo pipefail
pkgs=("$@")
((${#pkgs[@]})) || pkgs=(git openssl procps ca-certificates)
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
echo "[install] apt-get install ${pkgs[*]}"
as_root apt-get update -q >/dev/null
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
echo "[install] done"
