#!/usr/bin/env bash
# Debian packages the integration tests start for real. Idempotent; needs root (or sudo).
set -euo pipefail
# Each later capability adds what its tests start (redis-server, prometheus, chromium, ...).
packages=(redis-server prometheus)
missing=()
for p in "${packages[@]+"${packages[@]}"}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ "${#missing[@]}" = 0 ] && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
