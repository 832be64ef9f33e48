#!/usr/bin/env bash
# Installs everything (Node 24, pnpm, Debian packages, workspace dependencies, the test binaries
# that tools/envtest builds with Go) and runs the whole test suite: lint, typecheck, build and
# every vitest project. Ends with "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup.sh --system --deps --envtest
# shellcheck source=tools/env.sh
source tools/env.sh

rm -rf .cache/test-results
status=0
pnpm nx run-many -t lint,typecheck,build,test --skip-nx-cache --outputStyle=stream || status=$?

node tools/summarize-tests.ts .cache/test-results || status=$?
exit "$status"
