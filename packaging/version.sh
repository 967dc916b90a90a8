# Sourced by scripts/package*.sh: the one place package versions come from.
#
# VERSION (from the Makefile: git describe, or the caller) is what the
# binaries report (`lafs --version`). The package formats want more:
#   BASE_VERSION  x.y.z from internal/version (the release being built)
#   DEB_VERSION   the tag (1.2.0, 1.2.0~rc1), after a tag 1.2.0+N.gHASH, and
#                 with no tag yet BASE_VERSION~gitHASH[.dirty] ("~" sorts before
#                 the release itself)
#   MSI_VERSION   x.y.z only (Windows Installer compares three numbers)
#   SOURCE_DATE_EPOCH  the commit time: every timestamp in every package
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BASE_VERSION=$(sed -n 's/^var Version = "\([0-9][0-9.]*\).*"/\1/p' "$root/internal/version/version.go")
[ -n "$BASE_VERSION" ] || { echo "package: cannot read the version from internal/version/version.go" >&2; exit 1; }
VERSION=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
if [[ $VERSION =~ ^v?([0-9][0-9.]*)-([0-9]+)-g([0-9a-f]+)(-dirty)?$ ]]; then
  # after a tag: git describe's vX-N-gHASH sorts after X
  DEB_VERSION="${BASH_REMATCH[1]}+${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}${BASH_REMATCH[4]:+.dirty}"
elif [[ $VERSION =~ ^v?[0-9]+\.[0-9]+ ]]; then
  # a tag itself; a pre-release (-rc1) sorts before the release
  DEB_VERSION=${VERSION#v}; DEB_VERSION=${DEB_VERSION//-/\~}
else
  DEB_VERSION="$BASE_VERSION~git${VERSION//-/.}"
fi
MSI_VERSION=$BASE_VERSION
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}
export VERSION SOURCE_DATE_EPOCH
