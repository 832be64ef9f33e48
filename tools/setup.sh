#!/usr/bin/env bash
# Installs everything the workspace needs on a fresh Debian machine and prints the PATH to use.
#   source tools/env.sh         -> puts Node 24 and pnpm on PATH (installing them if missing)
#   bash tools/setup.sh [--system] [--deps]
#     --system  also installs the Debian packages the integration tests use (needs root)
#     --deps    also runs `pnpm install --frozen-lockfile`
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=tools/env.sh
source "$here/env.sh"

want_system=0
want_deps=0
for arg in "$@"; do
  case "$arg" in
    --system) want_system=1 ;;
    --deps) want_deps=1 ;;
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
