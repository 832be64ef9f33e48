# Sourced by build.sh and pin.sh: locates Go and keeps every Go cache inside .cache/go.
envtest_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$envtest_dir/../.." && pwd)"
# shellcheck source=tools/envtest/versions.sh
source "$envtest_dir/versions.sh"

if [ -n "${GO:-}" ]; then
  go_bin="$GO"
elif command -v go >/dev/null 2>&1; then
  go_bin="$(command -v go)"
elif [ -x /usr/local/go/bin/go ]; then
  go_bin=/usr/local/go/bin/go
else
  echo "envtest: Go is not installed (looked for \$GO, go on PATH and /usr/local/go/bin/go)" >&2
  exit 1
fi

go_cache_root="$repo_root/.cache/go"
export GOPATH="$go_cache_root/path"
export GOMODCACHE="$go_cache_root/mod"
export GOCACHE="$go_cache_root/build"
export GOTOOLCHAIN=local
# Module zips stay read-only by default; -modcacherw lets `rm -rf .cache` work without chmod.
export GOFLAGS="-buildvcs=false -modcacherw"
export CGO_ENABLED=0
mkdir -p "$GOPATH" "$GOMODCACHE" "$GOCACHE"
