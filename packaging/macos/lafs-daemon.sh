#!/bin/sh
# The bundle's executable when it is built off macOS: the tray app (lafsync)
# needs cgo against the macOS SDK, so a bundle made on Linux runs the headless
# daemon instead. The release workflow's macOS runner replaces this with
# lafsync (CFBundleExecutable says which).
exec "$(dirname "$0")/lafs" daemon "$@"
