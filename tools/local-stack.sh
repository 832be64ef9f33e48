#!/usr/bin/env bash
# Brings up the local stack with its embedded default and shows it working:
# installs Node 24, pnpm and the workspace dependencies if needed, builds, starts the stack,
# sends a demo request and prints the answer. Extra arguments go to the stack (--once exits after the demo;
# --autoscale lets the autoscaler start and stop the simulated servers as the load asks).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup.sh --deps >&2
# shellcheck source=tools/env.sh
source tools/env.sh
projects=inference-sim,router
# --autoscale (opt-in): the autoscaler runs the servers, so it is built too.
for arg in "$@"; do [ "$arg" = "--autoscale" ] && projects="$projects,autoscaler"; done
pnpm nx run-many -t build --projects="$projects" --outputStyle=static >&2
exec node tools/local-stack/src/main.ts "$@"
