#!/usr/bin/env bash
# Builds the sandbox's servers and tools from their published Go modules into a
# cache outside the repository, one directory per tool and version:
#
#   kubernetes  kube-apiserver, kube-controller-manager, kubectl
#   etcd        etcd
#   prometheus  prometheus (Kubernetes service discovery only)
#   helm        helm
#   kustomize   kustomize
#   gateway-api the released CRD manifests (standard and experimental channels)
#   istio       Istio's CRD manifests (istio.io/api)
#   traefik     Traefik's CRD manifests
#   smi         SMI's TrafficSplit CRD manifest (smi-sdk-go)
#
# The last four are built from nothing: their CRD manifests are copied out of
# the module (fetched into the module cache) into the tool's cache directory.
#
# Each tool's version and the checksums of everything it is built from are
# pinned by a wrapper module under tools/<tool>/ (go.mod, go.sum). A cached tool
# is reused while its stamp (a hash of its wrapper module and build flags)
# matches; anything else is built, and each binary is installed as soon as it
# is built, so an interrupted run keeps what it finished.
#
# Go: uses the `go` on PATH when it is new enough; otherwise installs Debian's
# golang-go and takes the pinned toolchain from the Go module proxy (through
# GOTOOLCHAIN, or as the golang.org/toolchain module for a Go too old to
# switch toolchains itself).
#
# Usage: scripts/build-sandbox-tools.sh [--go] [TOOL...]
#   --go     only make sure a suitable Go is available and print its path
#   TOOL...  build only these (default: all)
#   The cache is $WEIR_CACHE_DIR, else $XDG_CACHE_HOME/weir, else ~/.cache/weir.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/tools"
cache="${WEIR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weir}"
# The oldest Go that builds every wrapper module (the highest `go` line among
# them and their dependencies), and the toolchain fetched when the machine's Go
# is older than that.
go_minimum="1.26.7"
go_toolchain="go1.26.8"

say() { printf '[build] %s\n' "$*"; }
fail() { printf '[build] error: %s\n' "$*" >&2; exit 1; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
# version_at_least A B: A >= B as dotted versions.
version_at_least() { [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" == "$2" ]]; }
go_version_of() { "$1" env GOVERSION 2>/dev/null | sed -e 's/^go//' -e 's/[^0-9.].*$//'; }

# Sets $go to a Go command of at least $go_minimum.
ensure_go() {
  local have=""
  if command -v go >/dev/null 2>&1; then have=$(go_version_of go); fi
  if [[ -n "$have" ]] && version_at_least "$have" "$go_minimum"; then
    go=$(command -v go)
    export GOTOOLCHAIN=local
    return
  fi
  if [[ -z "$have" ]]; then
    say "no Go on PATH: installing Debian's golang-go"
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends golang-go >/dev/null
    have=$(go_version_of go)
    [[ -n "$have" ]] || fail "golang-go installed, but \`go env GOVERSION\` does not answer"
  fi
  local arch
  arch=$(go env GOHOSTARCH)
  if version_at_least "$have" "1.21"; then
    say "Go $have is older than $go_minimum: using $go_toolchain from the Go module proxy (GOTOOLCHAIN)"
    export GOTOOLCHAIN="$go_toolchain"
    go=$(command -v go)
  else
    # Go before 1.21 cannot switch toolchains: fetch the toolchain as the module
    # the newer go command would fetch, and run it from a copy of its own.
    local goroot="$cache/$go_toolchain"
    if [[ ! -x "$goroot/bin/go" ]]; then
      say "Go $have is older than $go_minimum and cannot switch toolchains: fetching $go_toolchain as a module"
      local dir
      dir=$(cd /tmp && GOFLAGS=-mod=mod GOMODCACHE="$cache/gomod" go mod download -json "golang.org/toolchain@v0.0.1-$go_toolchain.linux-$arch" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
      [[ -d "$dir" ]] || fail "could not fetch golang.org/toolchain@v0.0.1-$go_toolchain.linux-$arch"
      rm -rf "$goroot.partial"
      cp -r "$dir" "$goroot.partial"
      chmod -R u+w "$goroot.partial"
      # Module zips keep no file modes.
      chmod +x "$goroot.partial"/bin/* "$goroot.partial"/pkg/tool/*/*
      mv "$goroot.partial" "$goroot"
    fi
    go="$goroot/bin/go"
    export GOTOOLCHAIN=local
  fi
  have=$(go_version_of "$go")
  version_at_least "$have" "$go_minimum" || fail "$go reports Go $have, still older than $go_minimum"
}

# The version a wrapper module requires of a module: `required DIR MODULE`.
required() {
  awk -v m="$2" '($1 == "require" && $2 == m) { print $3; exit } ($1 == m && $2 ~ /^v/) { print $2; exit }' "$tools/$1/go.mod"
}

# The stamp of a tool's build: its wrapper module, and how this script builds it.
stamp_of() { cat "$tools/$1/go.mod" "$tools/$1/go.sum" 2>/dev/null | cat - <(printf '%s\n' "$2") | sha256sum | cut -c1-16; }

# Sets $version, $ldflags, $tags and $specs (NAME=PACKAGE...) for a built tool.
describe_tool() {
  local v minor x="" pkg
  tags=""
  case "$1" in
    kubernetes)
      v=$(required kubernetes k8s.io/kubernetes)
      minor=$(echo "$v" | cut -d. -f2)
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        x+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
      done
      version=${v#v} ldflags="-s -w$x"
      specs=(kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager kubectl=k8s.io/kubernetes/cmd/kubectl)
      ;;
    etcd)
      v=$(required etcd go.etcd.io/etcd/server/v3)
      version=${v#v} ldflags="-s -w" specs=(etcd=go.etcd.io/etcd/server/v3)
      ;;
    prometheus)
      # Module v0.3XY.Z is Prometheus 3.XY.Z.
      v=$(required prometheus github.com/prometheus/prometheus)
      minor=$(echo "$v" | cut -d. -f2)
      version="3.$((minor - 300)).$(echo "$v" | cut -d. -f3)"
      ldflags="-s -w -X github.com/prometheus/common/version.Version=$version -X github.com/prometheus/common/version.Branch=release"
      # Only Kubernetes discovery (plus the built-in file, HTTP and static
      # kinds): the cloud providers' SDKs would double the build.
      tags="remove_all_sd,enable_kubernetes_sd"
      specs=(prometheus=github.com/prometheus/prometheus/cmd/prometheus)
      ;;
    helm)
      v=$(required helm helm.sh/helm/v4)
      version=${v#v} ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$v" specs=(helm=helm.sh/helm/v4/cmd/helm)
      ;;
    kustomize)
      v=$(required kustomize sigs.k8s.io/kustomize/kustomize/v5)
      version=${v#v} ldflags="-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$v" specs=(kustomize=sigs.k8s.io/kustomize/kustomize/v5)
      ;;
  esac
  [[ -n "$version" ]] || fail "tools/$1/go.mod pins no version"
}

# The names of a tool's binaries that are not built yet (a changed stamp
# empties its cache directory first).
missing_binaries() {
  local tool=$1 out stamp spec
  describe_tool "$tool"
  out="$cache/$tool-$version/bin"
  stamp=$(stamp_of "$tool" "$ldflags|$tags|${specs[*]}")
  if [[ -d "$out" && "$(cat "$out/.stamp" 2>/dev/null)" != "$stamp" ]]; then rm -rf "$out"; fi
  for spec in "${specs[@]}"; do [[ -x "$out/${spec%%=*}" ]] || echo "${spec%%=*}"; done
}

build_tool() {
  local tool=$1 out stamp spec log name pkg start
  local missing=()
  mapfile -t missing < <(missing_binaries "$tool")
  describe_tool "$tool"
  out="$cache/$tool-$version/bin"
  if ((${#missing[@]} == 0)); then
    say "$tool $version: cached in $out"
    return
  fi
  mkdir -p "$out" "$cache/logs"
  stamp_of "$tool" "$ldflags|$tags|${specs[*]}" >"$out/.stamp"
  log="$cache/logs/$tool-$version.log"
  : >"$log"
  for spec in "${specs[@]}"; do
    name=${spec%%=*} pkg=${spec#*=}
    [[ " ${missing[*]} " == *" $name "* ]] || continue
    start=$(date +%s)
    say "building $name $version"
    # `go build` fetches the modules the package needs (only those: the
    # build tags leave Prometheus' other discovery SDKs out).
    (cd "$tools/$tool" && "$go" build -trimpath ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$out/$name.partial" "$pkg" >>"$log" 2>&1) ||
      { tail -40 "$log" >&2; fail "building $name failed; see $log"; }
    mv "$out/$name.partial" "$out/$name"
    say "built $name in $(($(date +%s) - start))s"
  done
}

# The tools that are a set of CRD manifests copied from a module (nothing is
# built), and the others.
manifest_tools=(gateway-api istio traefik smi)
built_tools=(kubernetes etcd prometheus helm kustomize)
is_manifest_tool() { [[ " ${manifest_tools[*]} " == *" $1 "* ]]; }

# Sets $module, $version and $sets (NAME=PATH...) for a manifest tool: each set
# is a directory of the tool's cache directory, holding the manifest at PATH in
# the module (a file, or each *.yaml and *.yml of a directory but its
# kustomization.yaml).
# src/sandbox/tool-versions.ts (CRD_MANIFEST_TOOLS) names the same sets.
describe_manifests() {
  case "$1" in
    gateway-api)
      module=sigs.k8s.io/gateway-api
      sets=(standard=config/crd/standard experimental=config/crd/experimental)
      ;;
    istio)
      # Every Istio CRD, as Istio's base chart installs them.
      module=istio.io/api sets=(crds=kubernetes/customresourcedefinitions.gen.yaml)
      ;;
    traefik)
      # The file Traefik's documentation installs (its traefik.io_*.yaml concatenated).
      module=github.com/traefik/traefik/v3 sets=(crds=docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml)
      ;;
    smi)
      # An apiextensions.k8s.io/v1beta1 CRD: the sandbox converts it to v1 when
      # it installs it (src/sandbox/bootstrap.ts).
      module=github.com/servicemeshinterface/smi-sdk-go sets=(crds=crds/split.yaml)
      ;;
  esac
  local v
  v=$(required "$1" "$module")
  version=${v#v}
  [[ -n "$version" ]] || fail "tools/$1/go.mod pins no version of $module"
}

manifests_stamp() { stamp_of "$1" "manifests|${sets[*]}"; }

# Whether a manifest tool's copy is missing or stale (prints its name then).
missing_manifests() {
  describe_manifests "$1"
  [[ "$(cat "$cache/$1-$version/.stamp" 2>/dev/null)" == "$(manifests_stamp "$1")" ]] || echo "$1"
}

# Copies a manifest tool's sets out of its module, fetched into the module cache.
copy_manifests() {
  local tool=$1 out stamp json dir zip start set name path
  describe_manifests "$tool"
  out="$cache/$tool-$version"
  stamp=$(manifests_stamp "$tool")
  if [[ "$(cat "$out/.stamp" 2>/dev/null)" == "$stamp" ]]; then
    say "$tool $version: cached in $out"
    return
  fi
  start=$(date +%s)
  say "fetching $tool $version"
  json=$(cd "$tools/$tool" && "$go" mod download -json "$module") || fail "could not fetch $module@v$version"
  dir=$(sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  zip=$(sed -n 's/^\s*"Zip": "\(.*\)",$/\1/p' <<<"$json")
  [[ -d "$dir" ]] || fail "$module@v$version: no module directory"
  rm -rf "$out.partial"
  for set in "${sets[@]}"; do
    name=${set%%=*} path=$dir/${set#*=}
    mkdir -p "$out.partial/$name"
    if [[ -f "$path" ]]; then
      cp "$path" "$out.partial/$name/"
    elif [[ -d "$path" ]]; then
      find "$path" -maxdepth 1 \( -name '*.yaml' -o -name '*.yml' \) ! -name kustomization.yaml -exec cp {} "$out.partial/$name/" \;
    fi
    [[ -n "$(ls -A "$out.partial/$name")" ]] || fail "$module@v$version has no manifests at ${set#*=}"
  done
  # Files of the module cache are read-only.
  chmod -R u+w "$out.partial"
  echo "$stamp" >"$out.partial/.stamp"
  rm -rf "$out"
  mv "$out.partial" "$out"
  say "copied $tool $version manifests into $out (module $(du -k "$zip" | cut -f1) KiB zipped, $(du -sk "$dir" | cut -f1) KiB unpacked, $(($(date +%s) - start))s)"
}

only_go=false
selected=()
for arg in "$@"; do
  case "$arg" in
    --go) only_go=true ;;
    --*) fail "unknown argument \"$arg\" (tools: ${built_tools[*]} ${manifest_tools[*]})" ;;
    *)
      [[ " ${built_tools[*]} ${manifest_tools[*]} " == *" $arg "* ]] || fail "unknown argument \"$arg\" (tools: ${built_tools[*]} ${manifest_tools[*]})"
      selected+=("$arg")
      ;;
  esac
done
((${#selected[@]})) || selected=(kubernetes etcd prometheus "${manifest_tools[@]}" helm kustomize)

ensure_go
if $only_go; then
  echo "$go"
  exit 0
fi
export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gocache" GOFLAGS=-mod=readonly CGO_ENABLED=0
started=$(date +%s)

# The plan first, so that a progress display knows what is ahead.
plan=()
for tool in "${selected[@]}"; do
  if is_manifest_tool "$tool"; then
    mapfile -t -O "${#plan[@]}" plan < <(missing_manifests "$tool")
  else
    mapfile -t -O "${#plan[@]}" plan < <(missing_binaries "$tool")
  fi
done
((${#plan[@]} == 0)) || say "plan: ${plan[*]}"

for tool in "${selected[@]}"; do
  if is_manifest_tool "$tool"; then
    copy_manifests "$tool"
  else
    build_tool "$tool"
  fi
done
say "all sandbox tools ready in $cache ($(($(date +%s) - started))s)"
