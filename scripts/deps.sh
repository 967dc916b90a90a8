#!/usr/bin/env bash
# Installs the Debian packages LAFS Sync needs to build (cgo for fyne) and
# to run its tests (Xvfb, D-Bus, screenshots), but only the missing ones:
# when everything is there it does nothing and never touches apt.
set -euo pipefail

pkgs=(
  gcc pkg-config                                   # cgo
  libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
  libxinerama-dev libxi-dev libxxf86vm-dev         # fyne / go-gl / glfw headers
  xvfb x11-apps imagemagick xdotool                # a real window under Xvfb and its screenshot
  dbus libglib2.0-bin                              # private session bus; gdbus reads/clicks the tray menu
  gnome-keyring                                    # a real Secret Service for app/secrets TestRealKeyring
  iproute2 iptables                                # network namespaces and a masquerading router for NAT tests
  nftables miniupnpd miniupnpd-nftables            # internal/netlab routers; a real UPnP/NAT-PMP router for node/portmap
  time                                             # /usr/bin/time: peak RSS in make bench
  python3-magic-wormhole-mailbox-server magic-wormhole  # a real mailbox server (and Python client) for node/invite's tests
)
# make package / test-package only (mingw alone is hundreds of MB: not for make test).
if [ "${1:-}" = package ]; then
  pkgs+=(dpkg-dev lintian desktop-file-utils squashfs-tools wixl msitools python3-olefile gcc-mingw-w64-x86-64 osslsigncode zip unzip file libfuse3-dev libzstd-dev zlib1g-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "deps: installing ${missing[*]}"
$sudo apt-get update -qq
# miniupnpd is only run by tests, inside a namespace: never as a service.
echo 'miniupnpd miniupnpd/start_daemon boolean false' | $sudo debconf-set-selections 2>/dev/null || true
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ -d /run/systemd/system ] && systemctl list-unit-files miniupnpd.service >/dev/null 2>&1; then
  $sudo systemctl disable --now miniupnpd.service >/dev/null 2>&1 || true
fi
