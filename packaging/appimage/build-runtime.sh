#!/usr/bin/env bash
# Builds the AppImage type2 runtime from the sources vendored in
# packaging/appimage/runtime/, as nothing may be downloaded here:
#   runtime.c, data_sections.ld   AppImage/type2-runtime at caf24f9f (MIT, LICENSE)
#   squashfuse/                   vasi/squashfuse 0.5.2, the library files only (BSD-2,
#                                 squashfuse/LICENSE); config.h is what its configure
#                                 writes on Debian 12 with fuse3, zlib and zstd
# linked statically against Debian's libfuse3.a (libfuse3-dev), libzstd.a
# (libzstd-dev) and libz.a (zlib1g-dev) with glibc, as the upstream build does
# with musl, mimalloc and a patched libfuse; see docs/packaging.md for the
# differences. Then, as upstream's scripts/build-runtime.sh: strip, and the
# magic bytes AI\x02 at offset 8.
#
#   packaging/appimage/build-runtime.sh OUT     (e.g. bin/.pkg/runtime-x86_64)
set -euo pipefail

[ $# = 1 ] || { echo "usage: $0 OUT" >&2; exit 2; }
out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/runtime
for lib in libfuse3.a libzstd.a libz.a; do
  [ -n "$(find /usr/lib /usr/lib64 -name "$lib" -print -quit 2>/dev/null)" ] ||
    { echo "build-runtime: $lib is missing (apt-get install libfuse3-dev libzstd-dev zlib1g-dev)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp "$src"/squashfuse/* "$tmp"/
(cd "$tmp" && SED=sed sh ./gen_swap.sh squashfs_fs.h)
cflags=(-std=gnu99 -Os -D_FILE_OFFSET_BITS=64 -ffunction-sections -fdata-sections -I/usr/include/fuse3
  -ffile-prefix-map="$tmp"=squashfuse -ffile-prefix-map="$src"=runtime -w)
objs=()
for c in "$tmp"/*.c; do
  gcc "${cflags[@]}" -I"$tmp" -c "$c" -o "${c%.c}.o"
  objs+=("${c%.c}.o")
done
mkdir -p "$tmp/inc/squashfuse"
cp "$tmp"/*.h "$tmp"/*.inc "$tmp/inc/squashfuse/"
gcc "${cflags[@]}" -Wall -DGIT_COMMIT='"caf24f9"' -I"$tmp/inc" -I"$tmp/inc/squashfuse" -T "$src/data_sections.ld" \
  -static -no-pie -Wl,--gc-sections -Wl,--build-id=none \
  "$src/runtime.c" "${objs[@]}" -lfuse3 -lzstd -lz -lpthread -ldl -o "$tmp/runtime" 2>"$tmp/ld.log" ||
  { cat "$tmp/ld.log" >&2; exit 1; }
# glibc warns that getpwnam & co. in a static binary need the same glibc at
# run time; the runtime does not call them on its paths (libfuse links them).
grep -v -E 'statically linked applications requires at runtime|^/usr/bin/ld: .*: in function' "$tmp/ld.log" >&2 || true
strip --strip-debug --strip-unneeded "$tmp/runtime"
printf 'AI\002' | dd of="$tmp/runtime" bs=1 count=3 seek=8 conv=notrunc status=none
mkdir -p "$(dirname "$out")"
install -m 0755 "$tmp/runtime" "$out"
echo "build-runtime: $out ($(stat -c %s "$out") bytes)"
