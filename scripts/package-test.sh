#!/usr/bin/env bash
# make test-package: builds every package (scripts/package.sh) and checks
# each for real, then builds again and compares byte for byte:
#   static   each archive holds one binary of the right OS/arch; linux/amd64 runs --version
#   deb      lintian (errors fail); dpkg -i on this machine, /usr/bin/lafs --version,
#            lafsync starts; dpkg -r leaves no file of the package behind
#   AppDir   AppRun runs lafs --version and starts lafsync; the squashfs holds the
#            same tree; the AppImage, if built, runs with --appimage-extract-and-run
#   msi      msiinfo: files, shortcut, Run key in the opt-in feature, per-user;
#            msiextract: the exes are the ones built
#   signing  a throwaway certificate signs lafs.exe and the .msi; osslsigncode verifies
#   macOS    plistcheck on each bundle (Info.plist keys, executable, icon, LaunchAgent)
#   sizes    every artifact listed; lafs < LAFS_MAX_MB, installers < PKG_MAX_MB
# Needs root (dpkg -i) and the tools scripts/deps.sh installs. Prints
# "N passed, N failed" at the end; exits 1 on any failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=../packaging/version.sh
source packaging/version.sh
GO=${GO:-go}
DIST=${DIST:-$root/dist}
WORK=${WORK:-$root/bin/.pkg}
T=$(mktemp -d "${TMPDIR:-/tmp}/lafssync-package-test.XXXXXX")
LAFS_MAX_MB=${LAFS_MAX_MB:-40}
PKG_MAX_MB=${PKG_MAX_MB:-60}
trap 'rm -rf "$T"' EXIT
export TZ=UTC LC_ALL=C

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok    $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
# check NAME CMD...: one check; its output is shown only when it fails.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else fail "$name"; printf '%s\n' "$out" | tail -20 | sed 's/^/      /'; fi
}
want() { grep -q -- "$1" <<<"$2" || { echo "want $1 in:"; echo "$2"; return 1; }; }

# cannot_run prints why this machine cannot run these checks (nothing if it can).
cannot_run() {
  local t missing=()
  [ "$(id -u)" = 0 ] || { echo "needs root (it installs and removes the .deb with dpkg)"; return; }
  if dpkg-query -W -f='${Status}' lafssync 2>/dev/null | grep -q installed; then
    echo "a lafssync package is already installed here; remove it first (dpkg --purge lafssync)"
    return
  fi
  for t in dpkg-deb lintian desktop-file-validate mksquashfs unsquashfs wixl msiinfo msiextract osslsigncode zip unzip file x86_64-w64-mingw32-windres; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  [ ${#missing[@]} = 0 ] || echo "missing ${missing[*]} (scripts/deps.sh package installs them)"
}
# --can-run: exit 0 if this machine can run the checks, else say why and exit 1.
if [ "${1:-}" = --can-run ]; then
  why=$(cannot_run)
  [ -z "$why" ] || { echo "$why"; exit 1; }
  exit 0
fi
why=$(cannot_run)
[ -z "$why" ] || { echo "package-test: $why" >&2; exit 1; }

# What the builds read: HEAD, the changes to tracked files, the untracked ones.
treestate() { { git rev-parse HEAD; git diff HEAD; git ls-files -o --exclude-standard | sort | xargs -r sha256sum; } 2>/dev/null | sha256sum; }
start=$(date +%s)
tree1=$(treestate)
echo "== build 1"
scripts/package.sh
arch=$(dpkg --print-architecture)
deb=$DIST/lafssync_${DEB_VERSION}_$arch.deb
msi=$DIST/lafssync-$VERSION-x64.msi
base=LAFS_Sync-$VERSION-$(uname -m)

echo "== static binaries"
static() { # static OS ARCH FILE-PATTERN
  local a=$DIST/lafs-$VERSION-$1-$2 x=$T/static-$1-$2 exe=lafs n
  mkdir -p "$x"
  if [ "$1" = windows ]; then exe=lafs.exe; unzip -q "$a.zip" -d "$x"; else tar -xzf "$a.tar.gz" -C "$x"; fi
  n=$(find "$x" -type f | wc -l)
  [ "$n" = 1 ] || { echo "$a: $n files, want 1"; return 1; }
  want "$3" "$(file -b "$x/lafs-$VERSION-$1-$2/$exe")"
}
check "static linux/amd64 is a static x86-64 ELF" static linux amd64 'x86-64.*statically linked'
check "static linux/arm64 is a static aarch64 ELF" static linux arm64 'ARM aarch64.*statically linked'
check "static windows/amd64 is a PE32+ x86-64" static windows amd64 'PE32+ executable.*x86-64'
check "static windows/arm64 is a PE32+ Aarch64" static windows arm64 'PE32+ executable.*Aarch64'
check "static darwin/amd64 is a Mach-O x86_64" static darwin amd64 'Mach-O 64-bit x86_64'
check "static darwin/arm64 is a Mach-O arm64" static darwin arm64 'Mach-O 64-bit arm64'
check "static linux/amd64 lafs --version says $VERSION" \
  bash -c "want() { grep -q -- \"\$1\" <<<\"\$2\"; }; want 'LAFS Sync (lafs) $VERSION' \"\$('$T/static-linux-amd64/lafs-$VERSION-linux-amd64/lafs' --version)\""
check "windows lafs.exe carries the version resource" \
  bash -c "unzip -p '$DIST/lafs-$VERSION-windows-amd64.zip' '*/lafs.exe' | strings -el | grep -qx 'LAFS Sync command line and headless daemon'"

echo "== .deb"
contents=$(dpkg-deb -c "$deb")
debfiles() {
  for f in ./usr/bin/lafs ./usr/bin/lafsync ./usr/share/applications/lafssync.desktop \
    ./usr/share/icons/hicolor/16x16/apps/lafssync.png ./usr/share/icons/hicolor/256x256/apps/lafssync.png \
    ./usr/share/icons/hicolor/scalable/apps/lafssync.svg ./usr/share/lafssync/autostart/lafssync.desktop \
    ./usr/lib/systemd/user/lafs.service ./usr/share/doc/lafssync/copyright; do
    want " $f\$" "$contents" || return 1
  done
  ! grep -v ' root/root ' <<<"$contents" || { echo "files not owned by root"; return 1; }
}
check ".deb holds binaries, .desktop, hicolor icons, autostart entry, user unit" debfiles
check ".deb Depends names the tray app's libraries" bash -c "dpkg-deb -f '$deb' Depends | grep -q libgl1"
check "desktop-file-validate: .desktop and autostart entries" \
  desktop-file-validate packaging/linux/lafssync.desktop packaging/linux/lafssync-autostart.desktop
check "systemd-analyze verify: lafs.service" bash -c "! command -v systemd-analyze >/dev/null || \
  { d=\$(mktemp -d); sed 's|/usr/bin/lafs|/bin/true|' packaging/linux/lafs.service >\"\$d/lafs.service\"; systemd-analyze verify \"\$d/lafs.service\"; }"
if command -v lintian >/dev/null; then
  lint=$(lintian --tag-display-limit 0 "$deb" 2>&1 || true)
  lint_clean() { ! grep '^E: ' <<<"$lint"; }
  check "lintian: no errors" lint_clean
  [ -z "$lint" ] || { echo "      lintian says:"; sed 's/^/      /' <<<"$lint"; }
else
  fail "lintian is missing (apt-get install lintian)"
fi
# paths DEB: every path the package installs, without the leading "."
debpaths() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\.||; s|/$||' | grep -v '^$'; }
installed_checks() {
  want "LAFS Sync (lafs) $VERSION" "$(/usr/bin/lafs --version)" || return 1
  # lafsync starts: without a display it must say so and exit 2 (it got
  # past the dynamic loader: every library it links is there).
  local rc=0 msg
  msg=$(env -u DISPLAY -u WAYLAND_DISPLAY /usr/bin/lafsync 2>&1) || rc=$?
  { [ $rc = 2 ] && want "no display found" "$msg"; } || { echo "lafsync: exit $rc: $msg"; return 1; }
  # A user opts into start at login by copying the autostart entry.
  mkdir -p "$T/home/.config/autostart" &&
    cp /usr/share/lafssync/autostart/lafssync.desktop "$T/home/.config/autostart/" &&
    desktop-file-validate "$T/home/.config/autostart/lafssync.desktop"
}
install_remove() {
  local p fresh=() left=() rc=0
  while read -r p; do [ -e "$p" ] || [ -L "$p" ] || fresh+=("$p"); done < <(debpaths "$deb")
  [ ${#fresh[@]} -gt 10 ] || { echo "only ${#fresh[@]} of the package's paths are new here"; return 1; }
  dpkg -i "$deb" >/dev/null || return 1
  installed_checks || rc=1
  # dpkg -r must already remove every file (the package has no conffiles);
  # --purge then only drops dpkg's record.
  dpkg -r lafssync >/dev/null || { dpkg --purge lafssync >/dev/null; return 1; }
  for p in "${fresh[@]}"; do [ -e "$p" ] || [ -L "$p" ] && left+=("$p"); done
  dpkg --purge lafssync >/dev/null || return 1
  [ ${#left[@]} = 0 ] || { echo "left behind after dpkg -r:"; printf '%s\n' "${left[@]}"; return 1; }
  ! dpkg-query -W lafssync >/dev/null 2>&1 || { echo "dpkg still knows lafssync"; return 1; }
  # The user's data (here: the autostart entry) is theirs.
  [ -f "$T/home/.config/autostart/lafssync.desktop" ] || { echo "the user's autostart entry was removed"; return 1; }
  return $rc
}
check "dpkg -i; lafs --version; lafsync starts; dpkg -r leaves nothing" install_remove

echo "== AppDir / AppImage"
mkdir -p "$T/appdir"
tar -xzf "$DIST/$base.AppDir.tar.gz" -C "$T/appdir"
ad=$T/appdir/$base.AppDir
check "AppDir: AppRun lafs --version" bash -c "'$ad/AppRun' lafs --version | grep -qx 'LAFS Sync (lafs) $VERSION'"
check "AppDir: AppRun starts lafsync" bash -c "out=\$(env -u DISPLAY -u WAYLAND_DISPLAY '$ad/AppRun' 2>&1); [ \$? = 2 ] && grep -q 'no display found' <<<\"\$out\""
check "AppDir: .desktop, icon, .DirIcon at the top" bash -c "desktop-file-validate '$ad/lafssync.desktop' && [ -f '$ad/lafssync.png' ] && [ \"\$(readlink '$ad/.DirIcon')\" = lafssync.png ]"
if [ -f "$DIST/$base.AppImage" ]; then
  check "AppImage: --appimage-extract-and-run lafs --version" \
    bash -c "cd '$T' && '$DIST/$base.AppImage' --appimage-extract-and-run lafs --version | grep -qx 'LAFS Sync (lafs) $VERSION'"
  sq=$T/appimage.squashfs
  off=$("$DIST/$base.AppImage" --appimage-offset)
  tail -c +$((off + 1)) "$DIST/$base.AppImage" >"$sq"
else
  sq=$DIST/$base.squashfs
  echo "      (no AppImage: no type2 runtime; checking the squashfs)"
fi
check "squashfs holds the AppDir's tree" bash -c "unsquashfs -q -n -d '$T/sq' '$sq' >/dev/null && diff -r --no-dereference '$ad' '$T/sq'"

echo "== .msi"
gui=$(cat "$WORK/msi/with-gui")
msicheck() {
  local files shortcut reg feat comp fc dir sum
  files=$(msiinfo export "$msi" File)
  want $'\tlafs.exe\t' "$files" || return 1
  if [ "$gui" = 1 ]; then want $'\tlafsync.exe\t' "$files" || return 1; fi
  shortcut=$(msiinfo export "$msi" Shortcut)
  if [ "$gui" = 1 ]; then
    want $'LafsSyncShortcut\tShortcutDir\tLAFS Sync\tStartMenuShortcut\t\[INSTALLDIR\]lafsync.exe' "$shortcut" || return 1
  else
    want $'\[INSTALLDIR\]lafs.exe\tdaemon' "$shortcut" || return 1
  fi
  dir=$(msiinfo export "$msi" Directory)
  want $'^ShortcutDir\tProgramMenuFolder' "$dir" && want $'^INSTALLDIR\tProgramsFolder\tLAFS Sync' "$dir" &&
    want $'^ProgramsFolder\tLocalAppDataFolder' "$dir" || return 1
  reg=$(msiinfo export "$msi" Registry)
  want $'\t1\tSoftware\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\tLAFS Sync\t.*\tRunAtLogin' "$reg" || return 1
  fc=$(msiinfo export "$msi" FeatureComponents)
  want $'^StartAtLogin\tRunAtLogin' "$fc" || return 1
  feat=$(msiinfo export "$msi" Feature)
  # Start at login is opt-in: its level is above the default INSTALLLEVEL (1).
  want $'^StartAtLogin\t.*\t1000\t' "$feat" && want $'^Main\t.*\t1\t' "$feat" || return 1
  comp=$(msiinfo export "$msi" RemoveFile)
  want 'RemoveShortcutDir' "$comp" && want 'RemoveINSTALLDIR' "$comp" || return 1
  sum=$(msiinfo suminfo "$msi")
  # Word count 10: compressed (2) + no elevation needed (8): a per-user install.
  want 'Source: 10 ' "$sum" || return 1
  ! msiinfo export "$msi" Property | grep -q '^ALLUSERS' || { echo "ALLUSERS set: not per-user"; return 1; }
}
check ".msi tables: files, shortcut, opt-in Run key, per-user, folders removed" msicheck
msiextract_same() {
  msiextract -C "$T/msix" "$msi" >/dev/null || return 1
  local x
  x=$(find "$T/msix" -name lafs.exe)
  cmp "$x" "$WORK/msi/lafs.exe" || return 1
  if [ "$gui" = 1 ]; then cmp "$(find "$T/msix" -name lafsync.exe)" "$WORK/msi/lafsync.exe"; fi
}
check "msiextract: the exes are byte-identical to the ones built" msiextract_same

echo "== macOS bundles"
for a in arm64 amd64; do
  mkdir -p "$T/mac-$a"
  tar -xzf "$DIST/lafssync-$VERSION-macos-$a.app.tar.gz" -C "$T/mac-$a"
  check "macOS $a: plistcheck (Info.plist keys, executable, icon, LaunchAgent)" \
    "$GO" run ./packaging/macos/plistcheck -version "$VERSION" "$T/mac-$a/LAFS Sync.app"
  check "macOS $a: the bundle's lafs is a Mach-O $a" \
    bash -c "file -b '$T/mac-$a/LAFS Sync.app/Contents/MacOS/lafs' | grep -q 'Mach-O 64-bit $([ $a = amd64 ] && echo x86_64 || echo arm64)'"
done

echo "== SHA256SUMS"
check "SHA256SUMS lists every artifact and verifies" bash -c "cd '$DIST' && sha256sum -c --quiet SHA256SUMS && \
  [ \"\$(find . -maxdepth 1 -type f ! -name SHA256SUMS | wc -l)\" = \"\$(wc -l <SHA256SUMS)\" ]"

echo "== sizes"
sizes() {
  local f mb bad=0
  for f in "$DIST"/*; do
    mb=$(( ($(stat -c %s "$f") + 1048575) / 1048576 ))
    awk -v b="$(stat -c %s "$f")" -v n="$(basename "$f")" 'BEGIN { printf "      %6.1f MB  %s\n", b / 1048576, n }'
    case $f in *.deb|*.msi|*.AppImage|*.squashfs) [ "$mb" -le "$PKG_MAX_MB" ] || { echo "$f > $PKG_MAX_MB MB"; bad=1; } ;; esac
  done
  for f in "$T"/static-*/*/lafs*; do
    mb=$(( ($(stat -c %s "$f") + 1048575) / 1048576 ))
    [ "$mb" -le "$LAFS_MAX_MB" ] || { echo "$f: $mb MB > $LAFS_MAX_MB MB"; bad=1; }
  done
  return $bad
}
sizes || true
check "sizes: lafs <= $LAFS_MAX_MB MB, installers <= $PKG_MAX_MB MB" sizes

echo "== signing (throwaway certificate)"
signing() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=LAFS Sync test signing" \
    -addext "extendedKeyUsage=codeSigning" -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || return 1
  # The staging must be inside the module (gobuild copies the package there).
  SIGN_CERT=$T/cert.pem SIGN_KEY=$T/key.pem DIST=$T/signed WORK=$WORK-signed \
    scripts/package.sh msi >/dev/null || return 1
  osslsigncode verify -CAfile "$T/cert.pem" -in "$WORK-signed/msi/lafs.exe" >/dev/null &&
    osslsigncode verify -CAfile "$T/cert.pem" -in "$T/signed/lafssync-$VERSION-x64.msi" >/dev/null &&
    msiextract -C "$T/signx" "$T/signed/lafssync-$VERSION-x64.msi" >/dev/null &&
    osslsigncode verify -CAfile "$T/cert.pem" -in "$(find "$T/signx" -name lafs.exe)" >/dev/null
}
check "osslsigncode signs lafs.exe and the .msi; verify passes, the signed exe is what the .msi installs" signing

echo "== build 2: reproducible"
cp -a "$DIST" "$T/dist1"
scripts/package.sh >/dev/null
same() {
  local f bad=0
  for f in "$T/dist1"/*; do
    cmp -s "$f" "$DIST/$(basename "$f")" || { echo "differs: $(basename "$f")"; bad=1; }
  done
  [ "$tree1" = "$(treestate)" ] || echo "(the work tree changed during the test: someone edited the sources, so the builds differ)"
  return $bad
}
check "a second build is byte-identical (every artifact, SHA256SUMS)" same

echo "package-test: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
