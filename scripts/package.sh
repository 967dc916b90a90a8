#!/usr/bin/env bash
# make package: every installer and archive LAFS Sync ships, in dist/.
#
#   scripts/package.sh [static|deb|appimage|msi|macos|sums]...   (default: all, then sums)
#
# Reproducible: every timestamp is SOURCE_DATE_EPOCH (the commit time, see
# packaging/version.sh), Go builds are -trimpath with no build id, archives
# are sorted with fixed owners; the same commit gives byte-identical
# artifacts (scripts/package-test.sh builds twice and compares).
#
# Signing: when SIGN_CERT and SIGN_KEY (PEM files) are set, the Windows exes
# and the .msi are Authenticode-signed with osslsigncode (SIGN_TIMESTAMP_URL,
# if set, adds a timestamp; signed artifacts are then no longer
# reproducible). Nothing else is signed here: see docs/packaging.md.
#
# Staging is under bin/.pkg (ignored by git and by ./... patterns).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=../packaging/version.sh
source packaging/version.sh

GO=${GO:-go}
DIST=${DIST:-$root/dist}
WORK=${WORK:-$root/bin/.pkg}
MOD=github.com/lafssync/lafssync
LDFLAGS="-s -w -buildid= -X $MOD/internal/version.Version=$VERSION"
# The static lafs matrix (CGO_ENABLED=0).
MATRIX=${MATRIX:-linux/amd64 linux/arm64 windows/amd64 windows/arm64 darwin/amd64 darwin/arm64}
export TZ=UTC LC_ALL=C
umask 022

say() { echo "package: $*"; }
die() { echo "package: $*" >&2; exit 1; }

# Set every mtime under $1 to SOURCE_DATE_EPOCH.
stamp() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

# targz DIR OUT: a reproducible .tar.gz of DIR (its last component is the top folder).
targz() {
  stamp "$1"
  tar -C "$(dirname "$1")" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    --format=gnu -cf - "$(basename "$1")" | gzip -9 -n >"$2"
}

# zipdir DIR OUT: a reproducible .zip of DIR (no extra fields, sorted).
zipdir() {
  stamp "$1"
  rm -f "$2"
  (cd "$(dirname "$1")" && find "$(basename "$1")" -print | sort | zip -q -X -D -9 "$2" -@)
}

# gobuild OUT GOOS GOARCH PKGDIR [CC]: CGO_ENABLED=0 unless CC is given. For
# windows/amd64 the package is copied beside a .syso that carries the icon
# and version resource (go build takes .syso files only from the package's
# own directory).
gobuild() {
  local out=$1 goos=$2 goarch=$3 pkg=$4 cc=${5:-} name src cgo=0 extra=()
  name=$(basename "$out" .exe)
  src=./$pkg
  if [ "$goos/$goarch" = windows/amd64 ]; then
    src=$WORK/src/$name
    rm -rf "$src" && mkdir -p "$src"
    find "$pkg" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$src"/ \;
    winres "$name" "$src/rsrc_windows_amd64.syso"
    src=./${src#"$root"/}
    [ "$name" = lafsync ] && extra=(-ldflags "$LDFLAGS -H windowsgui")
  fi
  [ -n "$cc" ] && cgo=1
  env CGO_ENABLED=$cgo GOOS="$goos" GOARCH="$goarch" ${cc:+CC=$cc} GOFLAGS= \
    "$GO" build -trimpath -buildvcs=false -ldflags "$LDFLAGS" "${extra[@]}" -o "$out" "$src"
}

# winres NAME OUT.syso: the Windows icon + VERSIONINFO, compiled by windres.
winres() {
  local name=$1 out=$2 desc commas
  command -v x86_64-w64-mingw32-windres >/dev/null || die "x86_64-w64-mingw32-windres is missing (apt-get install binutils-mingw-w64-x86-64)"
  desc="LAFS Sync command line and headless daemon"
  [ "$name" = lafsync ] && desc="LAFS Sync"
  commas=${MSI_VERSION//./,}
  sed -e "s|@NAME@|$name|g" -e "s|@ICO@|$root/icons/lafssync.ico|" -e "s|@MSI_COMMAS@|$commas|" \
    -e "s|@DESCRIPTION@|$desc|" -e "s|@VERSION@|$VERSION|g" packaging/windows/version.rc.in >"$WORK/$name.rc"
  x86_64-w64-mingw32-windres -O coff -o "$out" "$WORK/$name.rc"
}

# The static lafs for every OS/arch in MATRIX: tar.gz (unix) or zip (windows).
do_static() {
  local t goos goarch dir exe
  rm -rf "$WORK/static"
  for t in $MATRIX; do
    goos=${t%/*} goarch=${t#*/}
    dir=$WORK/static/lafs-$VERSION-$goos-$goarch
    rm -rf "$dir" && mkdir -p "$dir"
    exe=lafs; [ "$goos" = windows ] && exe=lafs.exe
    say "lafs for $goos/$goarch"
    gobuild "$dir/$exe" "$goos" "$goarch" app/cmd/lafs
    if [ "$goos" = windows ]; then
      zipdir "$dir" "$DIST/lafs-$VERSION-$goos-$goarch.zip"
    else
      targz "$dir" "$DIST/lafs-$VERSION-$goos-$goarch.tar.gz"
    fi
  done
}

# The Linux binaries for the host's arch (the tray app is cgo: no cross build).
linux_bins() {
  local arch
  arch=$("$GO" env GOARCH)
  mkdir -p "$WORK/linux"
  if [ ! -x "$WORK/linux/lafs" ] || [ "${linux_built:-}" != 1 ]; then
    say "lafs and lafsync for linux/$arch (lafsync links fyne with cgo: minutes the first time)"
    gobuild "$WORK/linux/lafs" linux "$arch" app/cmd/lafs
    gobuild "$WORK/linux/lafsync" linux "$arch" app/cmd/lafsync gcc
    linux_built=1
  fi
}

# usr_tree DEST: the files the .deb and the AppDir share, under DEST/usr.
usr_tree() {
  local d=$1
  install -D -m 0755 "$WORK/linux/lafs" "$d/usr/bin/lafs"
  install -D -m 0755 "$WORK/linux/lafsync" "$d/usr/bin/lafsync"
  install -D -m 0644 packaging/linux/lafssync.desktop "$d/usr/share/applications/lafssync.desktop"
  packaging/linux/install-icons.sh "$d/usr"
}

do_deb() {
  command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg)"
  command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps is missing (apt-get install dpkg-dev)"
  linux_bins
  local arch stage deps size out
  arch=$(dpkg --print-architecture)
  stage=$WORK/deb/lafssync
  rm -rf "$WORK/deb" && mkdir -p "$stage/DEBIAN"
  usr_tree "$stage"
  install -D -m 0644 packaging/linux/lafssync-autostart.desktop "$stage/usr/share/lafssync/autostart/lafssync.desktop"
  install -D -m 0644 packaging/linux/lafs.service "$stage/usr/lib/systemd/user/lafs.service"
  install -D -m 0644 packaging/linux/copyright "$stage/usr/share/doc/lafssync/copyright"
  install -D -m 0644 packaging/linux/lintian-overrides "$stage/usr/share/lintian/overrides/lafssync"
  printf 'lafssync (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- LAFS Sync developers <lafssync@users.noreply.github.com>  %s\n' \
    "$DEB_VERSION" "$VERSION" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")" | gzip -9 -n >"$stage/usr/share/doc/lafssync/changelog.gz"
  chmod 0644 "$stage/usr/share/doc/lafssync/changelog.gz"
  # Depends from the tray app's shared libraries (as dh_shlibdeps would).
  mkdir -p "$WORK/deb/shlibs/debian"
  printf 'Source: lafssync\n\nPackage: lafssync\nArchitecture: any\n' >"$WORK/deb/shlibs/debian/control"
  deps=$(cd "$WORK/deb/shlibs" && dpkg-shlibdeps -O -e"$stage/usr/bin/lafsync" -e"$stage/usr/bin/lafs" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
  [ -n "$deps" ] || die "dpkg-shlibdeps found no dependencies for lafsync"
  size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
  sed -e "s|@DEB_VERSION@|$DEB_VERSION|" -e "s|@ARCH@|$arch|" -e "s|@INSTALLED_SIZE@|$size|" -e "s|@DEPENDS@|$deps|" \
    packaging/linux/control.in >"$stage/DEBIAN/control"
  install -m 0755 packaging/linux/postrm "$stage/DEBIAN/postrm"
  (cd "$stage" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
  chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
  find "$stage" -type d -exec chmod 0755 {} +
  stamp "$stage"
  out=$DIST/lafssync_${DEB_VERSION}_$arch.deb
  dpkg-deb --root-owner-group -Zxz -z6 --build "$stage" "$out" >/dev/null
  say "$(basename "$out")"
}

# The AppDir, its squashfs, and the AppImage: the type2 runtime is built from
# the vendored sources by packaging/appimage/build-runtime.sh (once, into
# bin/.pkg/runtime-ARCH), or given as APPIMAGE_RUNTIME. Without one (no
# static libfuse3 here, or not x86_64) the .squashfs is left in dist/ instead.
do_appimage() {
  command -v mksquashfs >/dev/null || die "mksquashfs is missing (apt-get install squashfs-tools)"
  linux_bins
  local arch appdir base rt
  arch=$(uname -m)
  base=LAFS_Sync-$VERSION-$arch
  appdir=$WORK/appimage/$base.AppDir
  rm -rf "$WORK/appimage" && mkdir -p "$appdir"
  usr_tree "$appdir"
  install -m 0755 packaging/appimage/AppRun "$appdir/AppRun"
  sed -e "/^Exec=/a X-AppImage-Version=$VERSION" packaging/linux/lafssync.desktop >"$appdir/lafssync.desktop"
  chmod 0644 "$appdir/lafssync.desktop"
  install -m 0644 icons/png/app-256.png "$appdir/lafssync.png"
  ln -s lafssync.png "$appdir/.DirIcon"
  find "$appdir" -type d -exec chmod 0755 {} +
  stamp "$appdir"
  targz "$appdir" "$DIST/$base.AppDir.tar.gz"
  rm -f "$WORK/appimage/$base.squashfs"
  mksquashfs "$appdir" "$WORK/appimage/$base.squashfs" -quiet -no-progress -noappend -all-root -no-xattrs \
    -comp zstd -Xcompression-level 19 -b 1M >/dev/null  # times: SOURCE_DATE_EPOCH
  rt=${APPIMAGE_RUNTIME:-$WORK/runtime-$arch}
  if [ ! -f "$rt" ] && [ -z "${APPIMAGE_RUNTIME:-}" ] && [ "$arch" = x86_64 ]; then
    say "the AppImage type2 runtime, from packaging/appimage/runtime"
    packaging/appimage/build-runtime.sh "$rt" || say "the runtime did not build: no AppImage"
  fi
  if [ -f "$rt" ]; then
    cat "$rt" "$WORK/appimage/$base.squashfs" >"$DIST/$base.AppImage"
    chmod 0755 "$DIST/$base.AppImage"
    touch -d "@$SOURCE_DATE_EPOCH" "$DIST/$base.AppImage"
    say "$base.AppImage (runtime $rt)"
  else
    cp "$WORK/appimage/$base.squashfs" "$DIST/$base.squashfs"
    say "$base.AppDir.tar.gz and $base.squashfs; no AppImage: no type2 runtime at $rt (see docs/packaging.md)"
  fi
}

# sign FILE: Authenticode with osslsigncode when SIGN_CERT/SIGN_KEY are set.
sign() {
  [ -n "${SIGN_CERT:-}" ] && [ -n "${SIGN_KEY:-}" ] || return 0
  command -v osslsigncode >/dev/null || die "osslsigncode is missing (apt-get install osslsigncode)"
  osslsigncode sign -certs "$SIGN_CERT" -key "$SIGN_KEY" -n "LAFS Sync" -i https://github.com/lafssync/lafssync \
    -h sha256 ${SIGN_TIMESTAMP_URL:+-ts "$SIGN_TIMESTAMP_URL"} -in "$1" -out "$1.signed" >/dev/null
  mv "$1.signed" "$1"
  say "signed $(basename "$1")"
}

# uuid NAME: a stable GUID from the version and NAME (MSI product and package
# codes must change with every version, and be the same for the same commit).
uuid() {
  local h
  h=$(printf '%s\n' "lafssync-msi-$1-$VERSION" | sha256sum | cut -c1-32 | tr a-f A-F)
  echo "${h:0:8}-${h:8:4}-4${h:13:3}-8${h:17:3}-${h:20:12}"
}

do_msi() {
  command -v wixl >/dev/null || die "wixl is missing (apt-get install wixl)"
  local stage gui=0 out pkgcode
  stage=$WORK/msi
  rm -rf "$stage" && mkdir -p "$stage"
  say "lafs.exe for the .msi"
  gobuild "$stage/lafs.exe" windows amd64 app/cmd/lafs
  if [ "${MSI_GUI:-auto}" != no ] && command -v x86_64-w64-mingw32-gcc >/dev/null; then
    say "lafsync.exe (fyne with cgo through mingw-w64: minutes the first time)"
    if gobuild "$stage/lafsync.exe" windows amd64 app/cmd/lafsync x86_64-w64-mingw32-gcc; then
      gui=1
    else
      [ "${MSI_GUI:-auto}" = yes ] && die "lafsync.exe did not build"
      say "lafsync.exe did not build: the .msi carries lafs.exe alone"
    fi
  fi
  sign "$stage/lafs.exe"
  [ $gui = 1 ] && sign "$stage/lafsync.exe"
  cp icons/lafssync.ico packaging/windows/lafssync.wxs "$stage/"
  stamp "$stage"
  out=$DIST/lafssync-$VERSION-x64.msi
  pkgcode=$(uuid package)
  (cd "$stage" && wixl -a x64 -D Version="$MSI_VERSION" -D ProductCode="$(uuid product)" -D PackageCode="$pkgcode" \
    -D WithGUI=$gui -o "$out" lafssync.wxs)
  /usr/bin/python3 packaging/windows/msi-normalize.py "$out" "{$pkgcode}"
  sign "$out"
  echo "$gui" >"$WORK/msi/with-gui"
  say "$(basename "$out") (tray app included: $([ $gui = 1 ] && echo yes || echo no))"
}

# The macOS .app bundle per arch, as a .tar.gz (a .dmg needs hdiutil: the
# release workflow makes it on a macOS runner).
do_macos() {
  local arch app c
  for arch in arm64 amd64; do
    app="$WORK/macos-$arch/LAFS Sync.app"
    c=$app/Contents
    rm -rf "$WORK/macos-$arch" && mkdir -p "$c/MacOS" "$c/Resources" "$c/Library/LaunchAgents"
    say "LAFS Sync.app for darwin/$arch"
    gobuild "$c/MacOS/lafs" darwin "$arch" app/cmd/lafs
    install -m 0755 packaging/macos/lafs-daemon.sh "$c/MacOS/lafs-daemon"
    install -m 0644 icons/lafssync.icns "$c/Resources/lafssync.icns"
    sed -e "s|@EXECUTABLE@|lafs-daemon|" -e "s|@BASE_VERSION@|$BASE_VERSION|" -e "s|@VERSION@|$VERSION|" \
      packaging/macos/Info.plist.in >"$c/Info.plist"
    sed -e "s|@EXECUTABLE@|lafs-daemon|g" packaging/macos/org.lafssync.lafs.plist.in >"$c/Library/LaunchAgents/org.lafssync.lafs.plist"
    printf 'APPL????' >"$c/PkgInfo"
    chmod 0644 "$c/Info.plist" "$c/PkgInfo" "$c/Library/LaunchAgents/org.lafssync.lafs.plist"
    find "$app" -type d -exec chmod 0755 {} +
    targz "$app" "$DIST/lafssync-$VERSION-macos-$arch.app.tar.gz"
  done
}

do_sums() {
  (cd "$DIST" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%P\n' | sort | xargs -r sha256sum) >"$WORK/SHA256SUMS"
  mv "$WORK/SHA256SUMS" "$DIST/SHA256SUMS"
  say "SHA256SUMS ($(wc -l <"$DIST/SHA256SUMS") files)"
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(static deb appimage msi macos sums)
  rm -rf "$DIST"
fi
mkdir -p "$DIST" "$WORK"
say "version $VERSION (deb $DEB_VERSION, msi $MSI_VERSION), SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
for t in "${targets[@]}"; do
  case $t in
    static|deb|appimage|msi|macos|sums) "do_$t" ;;
    *) die "unknown target $t (static, deb, appimage, msi, macos, sums)" ;;
  esac
done
