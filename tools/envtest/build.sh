#!/usr/bin/env bash
# Builds the binaries of the test control plane and the chart tools from the Go module proxy into
# .cache/envtest/bin (ignored by git), reusing what an earlier run built:
#   kube-apiserver  k8s.io/kubernetes/cmd/kube-apiserver, pinned by kube-apiserver/go.{mod,sum}
#   etcd            go.etcd.io/etcd/server/v3, pinned by etcd/go.{mod,sum}
#   helm            helm.sh/helm/v3/cmd/helm at HELM_VERSION
#   kubeconform     github.com/yannh/kubeconform/cmd/kubeconform at KUBECONFORM_VERSION
#
#   bash tools/envtest/build.sh [--force] [--quiet] [name ...]
#     --force   rebuild even when the stamp of an existing binary matches
#     --quiet   print one line per binary instead of the Go output
#     name      build only these binaries (default: all four)
# Environment: ENVTEST_BIN_DIR (default <repo>/.cache/envtest/bin), GO (path of the go command),
# ENVTEST_BUILD_JOBS (parallel compile jobs, default 2), GOPROXY (as Go reads it).
set -euo pipefail
# shellcheck source=tools/envtest/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

force=0
quiet=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --quiet) quiet=1 ;;
    kube-apiserver|etcd|helm|kubeconform) wanted+=("$arg") ;;
    *) echo "build.sh: unknown argument $arg (expected --force, --quiet, kube-apiserver, etcd, helm, kubeconform)" >&2; exit 2 ;;
  esac
done
[ "${#wanted[@]}" -gt 0 ] || wanted=(kube-apiserver etcd helm kubeconform)

bin_dir="${ENVTEST_BIN_DIR:-$repo_root/.cache/envtest/bin}"
log_dir="$repo_root/.cache/envtest/logs"
jobs="${ENVTEST_BUILD_JOBS:-2}"
mkdir -p "$bin_dir" "$log_dir"
go_version="$("$go_bin" env GOVERSION)"

# Two builds at once in one checkout would race on the same output files.
exec 9>"$bin_dir/.build.lock"
if ! flock -n 9; then
  echo "envtest: another build.sh holds $bin_dir/.build.lock; waiting for it" >&2
  flock 9
fi

# The stamp of a binary: everything that decides its bytes. A binary is reused only when the
# stamp written next to it after its last successful build is identical.
stamp_of() {
  local name="$1"; shift
  {
    echo "name=$name"
    echo "go=$go_version"
    local input
    for input in "$@"; do
      case "$input" in
        file:*) echo "${input#file:}=$(sha256sum "${input#file:}" | cut -d' ' -f1)" ;;
        *) echo "$input" ;;
      esac
    done
  } | sed "s|$repo_root/||"
}

is_current() {
  local name="$1" stamp="$2"
  [ "$force" = 0 ] && [ -x "$bin_dir/$name" ] && [ -f "$bin_dir/.$name.stamp" ] &&
    [ "$(cat "$bin_dir/.$name.stamp")" = "$stamp" ]
}

# Runs a build step, sending its output to a log file when --quiet is given.
run_logged() {
  local name="$1"; shift
  local log="$log_dir/$name.log"
  if [ "$quiet" = 1 ]; then
    if ! "$@" >"$log" 2>&1; then
      echo "envtest: building $name failed; last lines of $log:" >&2
      tail -n 40 "$log" >&2
      return 1
    fi
  else
    "$@" 2>&1 | tee "$log"
    return "${PIPESTATUS[0]}"
  fi
}

# Rough cold-build times on 2 cores (see README.md), so a long silence is expected.
declare -A cold_build_time=([kube-apiserver]="5 minutes" [etcd]="30 seconds" [helm]="1 minute" [kubeconform]="10 seconds")

# Builds one binary unless its stamp matches; $1 name, $2 stamp, rest the build command, which
# must write "$bin_dir/.$1.partial".
build_one() {
  local name="$1" stamp="$2"; shift 2
  if is_current "$name" "$stamp"; then
    echo "envtest: $name is up to date ($bin_dir/$name)"
    return 0
  fi
  echo "envtest: building $name (a cold build takes about ${cold_build_time[$name]} on 2 cores, log: ${log_dir#"$repo_root"/}/$name.log)"
  local started=$SECONDS
  local tmp_out="$bin_dir/.$name.partial"
  rm -f "$tmp_out" "$bin_dir/.$name.stamp"
  run_logged "$name" "$@"
  [ -x "$tmp_out" ] || { echo "envtest: the build of $name produced no binary" >&2; return 1; }
  mv -f "$tmp_out" "$bin_dir/$name"
  printf '%s\n' "$stamp" > "$bin_dir/.$name.stamp"
  echo "envtest: built $name in $((SECONDS - started)) s"
}

build_flags=(-trimpath -mod=readonly)

kube_apiserver() {
  local mod_dir="$envtest_dir/kube-apiserver"
  local minor="${KUBERNETES_VERSION#*.}"; minor="${minor%%.*}"
  local major="${KUBERNETES_VERSION%%.*}"
  # The release date of the module version, so the stamped build date is reproducible.
  local release_time
  release_time="$(cd "$mod_dir" && "$go_bin" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
  local ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitCommit= -X $pkg.gitTreeState=clean -X $pkg.buildDate=$release_time"
  done
  local stamp
  local tags=selinux,notest,grpcnotrace
  stamp="$(stamp_of kube-apiserver "version=$KUBERNETES_VERSION" "flags=${build_flags[*]} -tags $tags" "ldflags=$ldflags" \
    "file:$mod_dir/go.mod" "file:$mod_dir/go.sum")"
  build_one kube-apiserver "$stamp" \
    bash -c 'cd "$1" && shift && exec "$@"' _ "$mod_dir" \
    "$go_bin" build -p "$jobs" "${build_flags[@]}" -tags "$tags" -ldflags "$ldflags" \
    -o "$bin_dir/.kube-apiserver.partial" k8s.io/kubernetes/cmd/kube-apiserver
}

etcd() {
  local mod_dir="$envtest_dir/etcd"
  local stamp
  stamp="$(stamp_of etcd "version=$ETCD_VERSION" "flags=${build_flags[*]}" \
    "file:$mod_dir/go.mod" "file:$mod_dir/go.sum")"
  build_one etcd "$stamp" \
    bash -c 'cd "$1" && shift && exec "$@"' _ "$mod_dir" \
    "$go_bin" build -p "$jobs" "${build_flags[@]}" -ldflags "-s -w" -o "$bin_dir/.etcd.partial" go.etcd.io/etcd/server/v3
}

# `go install pkg@version` works for these two (their go.mod files have no replace directives);
# the checksum database pins the module contents. GOBIN is a scratch folder so a failed build
# never leaves a half-written binary in bin_dir.
go_install() {
  local name="$1" package="$2" ldflags="$3"
  local gobin="$bin_dir/.gobin-$name"
  rm -rf "$gobin"
  mkdir -p "$gobin"
  GOBIN="$gobin" "$go_bin" install -p "$jobs" -trimpath -ldflags "$ldflags" "$package" &&
    mv -f "$gobin/$name" "$bin_dir/.$name.partial" && rm -rf "$gobin"
}

helm() {
  local minor="${KUBERNETES_VERSION#*.}"; minor="${minor%%.*}"
  local major="${KUBERNETES_VERSION%%.*}"
  # Without these, `helm version` prints only the minor version and `helm template` assumes a
  # Kubernetes 1.20 cluster.
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
  local stamp
  stamp="$(stamp_of helm "version=$HELM_VERSION" "ldflags=$ldflags")"
  build_one helm "$stamp" go_install helm "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" "$ldflags"
}

kubeconform() {
  local ldflags="-s -w -X main.version=v$KUBECONFORM_VERSION"
  local stamp
  stamp="$(stamp_of kubeconform "version=$KUBECONFORM_VERSION" "ldflags=$ldflags")"
  build_one kubeconform "$stamp" go_install kubeconform \
    "github.com/yannh/kubeconform/cmd/kubeconform@v$KUBECONFORM_VERSION" "$ldflags"
}

started=$SECONDS
for name in "${wanted[@]}"; do
  case "$name" in
    kube-apiserver) kube_apiserver ;;
    etcd) etcd ;;
    helm) helm ;;
    kubeconform) kubeconform ;;
  esac
done
echo "envtest: binaries ready in $bin_dir ($((SECONDS - started)) s)"
