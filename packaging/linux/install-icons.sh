#!/usr/bin/env bash
# Installs LAFS Sync's app icon into the freedesktop hicolor theme under
# PREFIX (e.g. "$DESTDIR/usr" when building a package, or ~/.local):
#   PREFIX/share/icons/hicolor/NxN/apps/lafssync.png  for each rendered size
#   PREFIX/share/icons/hicolor/scalable/apps/lafssync.svg
# The PNGs come from icons/png (committed; `make icons` regenerates them).
# Files get mode 0644; the packager sets their mtimes (SOURCE_DATE_EPOCH).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 PREFIX   (installs into PREFIX/share/icons/hicolor)" >&2
  exit 2
fi
prefix=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
theme="$prefix/share/icons/hicolor"

# hicolor's fixed sizes; 1024 is macOS-only and has no hicolor directory.
for size in 16 22 24 32 48 64 128 256 512; do
  src="$root/icons/png/app-$size.png"
  [ -f "$src" ] || { echo "install-icons: $src is missing; run 'make icons'" >&2; exit 1; }
  install -D -m 0644 "$src" "$theme/${size}x${size}/apps/lafssync.png"
done
install -D -m 0644 "$root/icons/src/app.svg" "$theme/scalable/apps/lafssync.svg"
