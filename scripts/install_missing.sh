#!/usr/bin/env bash
# Installs those of the Debian packages named that are not installed yet (apt-get, through sudo
# when not root), saying which; nothing when all are. Exits non-zero when apt-get fails.
# Usage: scripts/install_missing.sh WHO PACKAGE...   (WHO prefixes the message: "setup", "test")
set -euo pipefail
who=$1
shift
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "$who: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
