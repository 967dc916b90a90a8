#!/usr/bin/env bash
# Runs every FuzzXxx in the repository for a bounded time each.
set -euo pipefail
t="${1:-10s}"
grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . | sort | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  grep -oE '^func Fuzz[A-Za-z0-9_]+' "$f" | sed 's/^func //' | while read -r fn; do
    echo "== $pkg $fn ($t)"
    go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$t" "$pkg"
  done
done
