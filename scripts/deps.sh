#!/bin/sh
# Install what ccmailfs needs to build and test, if it is missing.
# Debian 12 package names; runs apt-get as root, or through sudo.
# usage: scripts/deps.sh [extra-package...]
set -eu
pkgs="meson ninja-build pkg-config gcc libc6-dev libfuse3-dev fuse3 libcmocka-dev python3 rsync libmime-tools-perl util-linux-extra valgrind dovecot-imapd maildrop mblaze"
missing=""
for p in $pkgs "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing
