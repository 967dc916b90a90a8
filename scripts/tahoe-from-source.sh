#!/usr/bin/env bash
# Sets up Tahoe-LAFS 1.20 (master at f002fd0d27d9) from source on Debian
# bookworm's Python packages plus this repo's shims, and writes $T/tahoe, the
# command scripts/bench-tahoe.sh runs (TAHOE, default /tmp/tahoe-bench/tahoe).
# docs/interop.md, "A whole Tahoe grid", explains why each piece is needed.
#
# Idempotent: a second run changes nothing and only checks. Skips (exit 0, one
# "SKIP:" line saying what is missing) when the machine cannot do it: not
# Debian's /usr/bin/python3 and apt-get, apt packages missing and not root or
# no apt registry, or a source mirror missing. Exit 1 only when everything
# was there and the resulting tahoe still does not run.
#
# The sources come from mirrors the search tool's `fetch` brings under
# /work/.mirror (no shell command here can fetch them); fetch these first:
#   github:tahoe-lafs/tahoe-lafs  github:twisted/klein
#   github:mlenzen/collections-extended  github:tpltnt/pyutil
#
# Environment:
#   TAHOE_DIR      where to build (default /tmp/tahoe-bench)
#   TAHOE_MIRRORS  where the fetched mirrors are (default /work/.mirror)
set -euo pipefail
cd "$(dirname "$0")/.."

T="${TAHOE_DIR:-/tmp/tahoe-bench}"
M="${TAHOE_MIRRORS:-/work/.mirror}"
skip() { echo "tahoe-from-source: SKIP: $*"; exit 0; }
say() { echo "tahoe-from-source: $*"; }

[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3 (Debian's Python is needed: the apt packages are installed for it only)"
command -v dpkg-query >/dev/null && command -v apt-get >/dev/null || skip "no dpkg-query/apt-get (this recipe is for Debian bookworm)"

# --- Sources not in Debian, pure Python, at the commits that worked.
# NAME OWNER+REPO COMMIT
srcs=(
  "tahoe-lafs tahoe-lafs+tahoe-lafs f002fd0d27d9a3da5c0da162b10725838353bd63"
  "klein twisted+klein 04db6d26fd6f8dc749868268518957c8238c09d6"
  "collections-extended mlenzen+collections-extended a1dbe7c771bfa07f3cef9889a2f8e40ae84e2d2b"
  "pyutil tpltnt+pyutil 12dad0b6c63352300b59b548611d77306547b97c"
)
# mirror NAME: the git directory of NAME's mirror (fetch gives a bare repository
# at repo/ or, for some, a clone's repo/.git).
mirror() {
  local gd="$M/$1/repo"
  [ -d "$gd/.git" ] && gd="$gd/.git"
  echo "$gd"
}
# Check the mirrors first, before installing anything.
for s in "${srcs[@]}"; do
  read -r name mirror commit <<<"$s"
  [ "$(cat "$T/$name/.lafssync-commit" 2>/dev/null)" = "$commit" ] && continue
  gh="github:${mirror/+//}"
  git --git-dir="$(mirror "$mirror")" rev-parse -q --verify "$commit^{commit}" >/dev/null 2>&1 ||
    skip "no mirror of $gh with commit ${commit:0:12} at $M/$mirror/repo (bring it with the search tool: fetch $gh)"
done

# --- Debian packages (the versions that worked: Python 3.11.2, Twisted 22.4,
# Foolscap 21.7, eliot 1.13, zfec 1.5.2, pyOpenSSL 23.0).
pkgs=(python3-twisted python3-treq python3-eliot python3-foolscap python3-werkzeug
  python3-hyperlink python3-cbor2 python3-attr python3-zope.interface python3-txtorcon python3-yaml
  python3-nacl python3-psutil python3-filelock python3-distro python3-autobahn python3-netifaces
  python3-pyrsistent python3-six python3-click python3-openssl python3-cryptography
  python3-typing-extensions python3-zfec magic-wormhole python3-incremental
  python3-service-identity python3-idna python3-pyasn1 python3-pyasn1-modules python3-tenacity)
missing=()
for p in "${pkgs[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || skip "not root, and these apt packages are missing: ${missing[*]}"
  say "installing ${#missing[@]} apt packages: ${missing[*]}"
  # After a reboot the package lists may be gone; update first.
  apt-get update -qq || skip "apt-get update failed (no Debian registry?)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/tahoe-from-source.apt.log 2>&1 ||
    skip "apt-get install failed, see /tmp/tahoe-from-source.apt.log"
else
  say "apt packages: all ${#pkgs[@]} installed"
fi

# --- Unpack each source (again only when its recorded commit differs).
mkdir -p "$T"
for s in "${srcs[@]}"; do
  read -r name mirror commit <<<"$s"
  if [ "$(cat "$T/$name/.lafssync-commit" 2>/dev/null)" = "$commit" ]; then
    say "$name: already at ${commit:0:12}"
    continue
  fi
  rm -rf "$T/$name.new"
  mkdir -p "$T/$name.new"
  git --git-dir="$(mirror "$mirror")" archive "$commit" | tar -x -C "$T/$name.new"
  echo "$commit" >"$T/$name.new/.lafssync-commit"
  rm -rf "$T/$name"
  mv "$T/$name.new" "$T/$name"
  say "$name: unpacked ${commit:0:12}"
done

# --- Generated and copied files, and the wrapper (rewritten only when different).
# put FILE: stdin into FILE unless FILE already holds exactly that.
put() {
  local tmp="$1.new"
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; say "wrote $1"; fi
}
# Tahoe's setup would generate this; running from source it is absent.
printf '__version__ = "1.20.0"\nfull_version = "f002fd0d27d9"\nbranch = "master"\n' |
  put "$T/tahoe-lafs/src/allmydata/_version.py"
# pycddl is a Rust extension (not buildable here): a decoder without schema checks.
mkdir -p "$T/stand-in/pycddl"
put "$T/stand-in/pycddl/__init__.py" <docs/interop/pycddl_stand_in.py
# eliot no-op actions, pyOpenSSL's X509VerificationCodes.
put "$T/shims.py" <docs/interop/shims.py
put "$T/tahoe" <<EOF
#!/bin/sh
# Tahoe-LAFS from source (scripts/tahoe-from-source.sh, docs/interop.md).
T=$T
export PYTHONPATH=\$T/stand-in:\$T/collections-extended:\$T/pyutil:\$T/tahoe-lafs/src:\$T/klein/src
exec /usr/bin/python3 -c "
import sys
exec(open('\$T/shims.py').read())
from allmydata.scripts.runner import run
sys.argv = ['tahoe'] + sys.argv[1:]
run()" "\$@"
EOF
chmod +x "$T/tahoe"

if v="$("$T/tahoe" --version 2>&1 | head -1)" && [[ "$v" == tahoe-lafs/* ]]; then
  say "OK: $T/tahoe --version: $v"
else
  echo "tahoe-from-source: FAIL: $T/tahoe --version printed: $v" >&2
  exit 1
fi
