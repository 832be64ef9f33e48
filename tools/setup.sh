#!/usr/bin/env bash
# Installs everything the workspace needs on a fresh Debian machine and prints the PATH to use.
#   source tools/env.sh         -> puts Node 24 and pnpm on PATH (installing them if missing)
#   bash tools/setup.sh [--system] [--deps] [--envtest]
#     --system  also installs the Debian packages the integration tests use (needs root)
#     --deps    also runs `pnpm install --frozen-lockfile`
#     --envtest also builds (or reuses) kube-apiserver, etcd, helm and kubeconform for the
#               integration tests with tools/envtest/build.sh (needs Go and the Go module proxy)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=tools/env.sh
source "$here/env.sh"

want_system=0
want_deps=0
want_envtest=0
for arg in "$@"; do
  case "$arg" in
    --system) want_system=1 ;;
    --deps) want_deps=1 ;;
    --envtest) want_envtest=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

if [ "$want_system" = 1 ]; then
  bash "$here/install-system-packages.sh"
fi

if [ "$want_deps" = 1 ]; then
  cd "$root"
  if [ -n "${CI:-}" ]; then
    pnpm install --frozen-lockfile --prefer-offline
  else
    pnpm install --frozen-lockfile --prefer-offline || pnpm install
  fi
fi

if [ "$want_envtest" = 1 ]; then
  echo "setup.sh: building or reusing kube-apiserver, etcd, helm and kubeconform in .cache/envtest/bin (a cold build takes several minutes)" >&2
  bash "$here/envtest/build.sh" --quiet
fi
