#!/usr/bin/env bash
# Installs those of the Debian packages named that are not installed yet (apt-get, through sudo
# when not root), saying which; nothing when all are. Exits non-zero when apt-get fails.
# With --optional: sudo never asks for a password (sudo -n), each package is installed on its own
# (one that this release lacks leaves the others installed), and a failure is said, not fatal.
# Usage: scripts/install_missing.sh [--optional] WHO PACKAGE...   (WHO prefixes the messages)
set -euo pipefail
optional=0
if [ "${1:-}" = "--optional" ]; then optional=1; shift; fi
who=$1
shift
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "$who: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
  ((optional)) && SUDO=(sudo -n)
fi
if ((!optional)); then
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  exit 0
fi
"${SUDO[@]}" apt-get update -qq || echo "$who: apt-get update failed; trying the packages as listed"
for p in "${missing[@]}"; do
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$p" ||
    echo "$who: could not install $p"
done
