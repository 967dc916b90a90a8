#!/usr/bin/env bash
# Runs a command on a private desktop: its own D-Bus session bus and an Xvfb
# display, both gone when the command ends (even when it fails). GUI and
# tray tests run under it; nothing touches the user's real session.
set -euo pipefail

if [ -z "${LAFSSYNC_DESKTOP:-}" ]; then
  exec dbus-run-session -- env LAFSSYNC_DESKTOP=1 "$0" "$@"
fi

display=""
for n in $(seq 90 140); do
  if [ ! -e "/tmp/.X$n-lock" ] && [ ! -e "/tmp/.X11-unix/X$n" ]; then display=$n; break; fi
done
[ -n "$display" ] || { echo "with-desktop: no free X display number" >&2; exit 1; }

Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill "$xvfb" 2>/dev/null || true; wait "$xvfb" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -e "/tmp/.X11-unix/X$display" ] && break
  kill -0 "$xvfb" 2>/dev/null || { echo "with-desktop: Xvfb failed to start" >&2; exit 1; }
  sleep 0.1
done
export DISPLAY=":$display"
export LANG=en_US.UTF-8   # fyne cannot parse the C locale and says so on every start
"$@"
