#!/usr/bin/env bash
# Creates a workspace package with the standard layout.
#   tools/new-package.sh <dir> <package-name> <tags comma-separated> ["description"]
# e.g. tools/new-package.sh libs/api @llmd/api scope:shared,type:lib,maturity:stable "OpenAI API schemas"
set -euo pipefail
dir="$1"; name="$2"; tags="$3"; desc="${4:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rel="$(realpath --relative-to="$root/$dir" "$root")"
mkdir -p "$root/$dir/src"
cd "$root/$dir"
tags_json="$(printf '%s' "$tags" | awk -F, '{for(i=1;i<=NF;i++){printf "%s\"%s\"", (i>1?", ":""), $i}}')"
[ -f package.json ] || cat > package.json <<JSON
{
  "name": "$name",
  "version": "0.1.0",
  "private": true,
  "description": "$desc",
  "license": "Apache-2.0",
  "type": "module",
  "main": "./dist/index.js",
  "types": "./dist/index.d.ts",
  "exports": {
    ".": {
      "@llmd/source": "./src/index.ts",
      "types": "./dist/index.d.ts",
      "default": "./dist/index.js"
    },
    "./package.json": "./package.json"
  },
  "nx": {
    "tags": [$tags_json]
  },
  "dependencies": {}
}
JSON
[ -f tsconfig.json ] || cat > tsconfig.json <<JSON
{
  "extends": "$rel/tsconfig.base.json",
  "files": [],
  "include": [],
  "references": [{ "path": "./tsconfig.lib.json" }, { "path": "./tsconfig.spec.json" }]
}
JSON
[ -f tsconfig.lib.json ] || cat > tsconfig.lib.json <<JSON
{
  "extends": "$rel/tsconfig.base.json",
  "compilerOptions": {
    "rootDir": "src",
    "outDir": "dist",
    "tsBuildInfoFile": "dist/tsconfig.lib.tsbuildinfo"
  },
  "include": ["src/**/*.ts"],
  "exclude": ["src/**/*.test.ts", "src/**/*.bench.ts", "src/**/test-support/**"],
  "references": []
}
JSON
[ -f tsconfig.spec.json ] || cat > tsconfig.spec.json <<JSON
{
  "extends": "$rel/tsconfig.base.json",
  "compilerOptions": {
    "outDir": "./out-tsc/spec",
    "tsBuildInfoFile": "./out-tsc/spec/tsconfig.spec.tsbuildinfo"
  },
  "include": ["src/**/*.test.ts", "src/**/*.bench.ts", "src/**/test-support/**/*.ts", "bench/**/*.ts"],
  "references": [{ "path": "./tsconfig.lib.json" }]
}
JSON
[ -f vitest.config.ts ] || cat > vitest.config.ts <<TS
import { projectVitestConfig } from '$rel/vitest.shared';

export default projectVitestConfig({ name: '$name' });
TS
[ -f eslint.config.mjs ] || cat > eslint.config.mjs <<JS
import baseConfig from '$rel/eslint.config.mjs';

export default [...baseConfig];
JS
[ -f src/index.ts ] || echo "export {};" > src/index.ts
echo "created $dir ($name)"
