#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kubectl 1.20.2 from Debian's
# `kubernetes` source package into a cache directory outside the repository.
# Reuses the cache when both binaries are present. Needs root (or sudo) only
# for the apt steps, which are skipped when the tools are already installed.
#
# Usage: scripts/build-kubernetes.sh [CACHE_DIR]
#   CACHE_DIR defaults to $WEIR_CACHE_DIR or ~/.cache/weir
set -euo pipefail

cache="${1:-${WEIR_CACHE_DIR:-$HOME/.cache/weir}}"
version="1.20.2"
out="$cache/kubernetes-$version/bin"
binaries=(kube-apiserver kube-controller-manager kubectl)
patches_dir="$(cd "$(dirname "$0")" && pwd)/kubernetes-patches"
# The cache is valid for one set of Weir's patches; a change rebuilds everything.
patches_sha=$(cat "$patches_dir"/*.patch | sha256sum | cut -c1-16)
if [[ "$(cat "$out/.patches" 2>/dev/null)" != "$patches_sha" ]]; then
  rm -f "${binaries[@]/#/$out/}"
fi
missing=()
for what in "${binaries[@]}"; do
  [[ -x "$out/$what" ]] || missing+=("$what")
done
if ((${#missing[@]} == 0)); then
  echo "kubernetes $version: cached in $out"
  exit 0
fi

say() { printf '[build-kubernetes] %s\n' "$*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

need_pkgs=()
for tool in go:golang-go rsync:rsync jq:jq dpkg-source:dpkg-dev; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_pkgs+=("${tool##*:}")
done
src_list=/etc/apt/sources.list.d/weir-src.sources
if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  say "adding a deb-src entry for Debian bookworm main ($src_list)"
  as_root tee "$src_list" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  as_root apt-get update -q
fi
if ((${#need_pkgs[@]})); then
  say "installing build tools: ${need_pkgs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}"
fi

say "building Kubernetes $version from Debian's source package into $out (first run only; about 7 minutes on 2 cores)"
work="$cache/build"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
say "fetching Debian's kubernetes source package"
apt-get source -q --download-only kubernetes >/dev/null 2>&1 || apt-get source -q --download-only kubernetes
# dpkg-source applies Debian's patches (security fixes included); then Weir's.
dpkg-source -x ./kubernetes_*.dsc tree >/dev/null
for p in "$patches_dir"/*.patch; do
  say "applying $(basename "$p")"
  patch -d tree -p1 -s < "$p"
done

gopath="$work/gopath"
mkdir -p "$gopath/src/k8s.io"
ln -sfn "$work/tree" "$gopath/src/k8s.io/kubernetes"
cd "$gopath/src/k8s.io/kubernetes"
export GOPATH="$gopath" CGO_ENABLED=0 GOCACHE="$cache/gocache"
export KUBE_GIT_VERSION="v$version" KUBE_GIT_TREE_STATE=clean
mkdir -p "$out"
echo "$patches_sha" > "$out/.patches"
for what in "${missing[@]}"; do
  say "building $what (several minutes on 2 cores)"
  start=$(date +%s)
  make WHAT="cmd/$what" >"$work/$what.log" 2>&1 || { tail -40 "$work/$what.log" >&2; exit 1; }
  bin=$(find _output -type f -name "$what" -perm -u+x | head -1)
  [[ -n "$bin" ]] || { echo "build produced no $what" >&2; exit 1; }
  # Installed one by one, so an interrupted build keeps what it finished.
  install -m 0755 "$bin" "$out/$what"
  say "built $what in $(( $(date +%s) - start ))s"
done
"$out/kube-apiserver" --version
cd "$cache"
rm -rf "$work"
say "cached in $out"
