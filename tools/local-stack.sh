#!/usr/bin/env bash
# Brings up the local stack with its embedded default and shows it working:
# installs Node 24, pnpm and the workspace dependencies if needed, builds, starts the stack,
# sends a demo request and prints the answer. Extra arguments go to the stack (--once exits after the demo).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup.sh --deps >&2
# shellcheck source=tools/env.sh
source tools/env.sh
pnpm nx run-many -t build --projects=inference-sim,router --outputStyle=static >&2
exec node tools/local-stack/src/main.ts "$@"
