#!/usr/bin/env bash
# Builds dist/outrider_<version>_<arch>.deb from the working tree.
#
#   packaging/build-deb.sh [--version DEBIAN_VERSION] [--binary PATH] [--out DIR]
#
# --version  the package version; default <make version>-<DEB_REVISION, default 1>
# --binary   package this binary instead of running the release build
# --out      where the .deb goes; default dist/
#
# Needs Swift, dpkg-dev (dpkg-shlibdeps, dpkg-gencontrol), binutils and gzip; installs dpkg-dev with
# apt-get when it is missing and this runs as root.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

die() { echo "build-deb: error: $*" >&2; exit 1; }
note() { echo "build-deb: $*" >&2; }

# The Makefile knows which source file holds the version; `outrider version` prints the same.
upstream_version=$(make -s --no-print-directory version)
[ -n "$upstream_version" ] || die "make version printed no version"

version="${upstream_version}-${DEB_REVISION:-1}"
binary=""
out="$repo/dist"
while [ $# -gt 0 ]; do
    case "$1" in
        --version) version="$2"; shift 2 ;;
        --binary) binary="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) die "unknown argument: $1" ;;
    esac
done

if ! command -v dpkg-shlibdeps >/dev/null || ! command -v dpkg-gencontrol >/dev/null || ! command -v strip >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        note "installing dpkg-dev and binutils"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev binutils >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev binutils >/dev/null; }
    else
        die "dpkg-shlibdeps, dpkg-gencontrol and strip are needed: apt-get install dpkg-dev binutils"
    fi
fi

[ -f etc/outrider/outrider.yaml ] || die "etc/outrider/outrider.yaml is missing: it becomes the package's /etc/outrider/outrider.yaml"

if [ -z "$binary" ]; then
    note "release build (make release) in .build-release"
    make -s release
    binary="$repo/.build-release/release/outrider"
fi
[ -x "$binary" ] || die "no executable at $binary"

arch=$(dpkg --print-architecture)
stage="$repo/.build-deb"
pkg="$stage/debian/outrider"
rm -rf "$stage"
mkdir -p "$stage/debian" "$out"
umask 022

# dpkg-gencontrol and dpkg-shlibdeps read debian/ as in a source package.
cp packaging/debian/control "$stage/debian/control"
changelog="$stage/debian/changelog"
cp packaging/debian/changelog "$changelog"
changelog_version=$(dpkg-parsechangelog -l "$changelog" -S Version)
if [ "$changelog_version" != "$version" ]; then
    # A build of a version the changelog does not have yet (a version bump before its changelog entry,
    # or a test rebuild) gets an entry of its own, so the installed changelog names the installed version.
    note "packaging/debian/changelog ends at $changelog_version; adding an entry for $version"
    maintainer=$(sed -n 's/^Maintainer: //p' packaging/debian/control)
    {
        printf 'outrider (%s) unstable; urgency=medium\n\n' "$version"
        printf '  * Build of version %s.\n\n' "$version"
        printf ' -- %s  %s\n\n' "$maintainer" "$(LC_ALL=C date -u -R)"
        cat packaging/debian/changelog
    } > "$changelog"
fi
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog -l "$changelog" -S Timestamp)}"

install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/etc/outrider" "$pkg/lib/systemd/system" \
    "$pkg/usr/share/doc/outrider" "$pkg/usr/share/man/man1" "$pkg/usr/share/lintian/overrides"
install -m 0755 "$binary" "$pkg/usr/bin/outrider"
# As dh_strip does for executables.
strip --remove-section=.comment --remove-section=.note "$pkg/usr/bin/outrider"
install -m 0644 etc/outrider/outrider.yaml "$pkg/etc/outrider/outrider.yaml"
install -m 0644 packaging/debian/outrider.service "$pkg/lib/systemd/system/outrider.service"
install -m 0644 packaging/debian/copyright "$pkg/usr/share/doc/outrider/copyright"
gzip -9nc "$changelog" > "$pkg/usr/share/doc/outrider/changelog.Debian.gz"
gzip -9nc packaging/debian/outrider.1 > "$pkg/usr/share/man/man1/outrider.1.gz"
install -m 0644 packaging/debian/lintian-overrides "$pkg/usr/share/lintian/overrides/outrider"
examples=0
for example in etc/outrider/examples/*.yaml; do
    [ -f "$example" ] || continue
    install -D -m 0644 "$example" "$pkg/usr/share/doc/outrider/examples/${example##*/}"
    examples=$((examples + 1))
done
[ "$examples" -gt 0 ] || note "warning: no etc/outrider/examples/*.yaml to ship as examples"

for script in postinst prerm postrm; do
    install -m 0755 "packaging/debian/$script" "$pkg/DEBIAN/$script"
done
# Every file under /etc is a conffile: dpkg keeps local edits across upgrades.
(cd "$pkg" && find etc -type f | sort | sed 's|^|/|') > "$pkg/DEBIAN/conffiles"
chmod 0644 "$pkg/DEBIAN/conffiles"

(
    cd "$stage"
    : > debian/substvars
    dpkg-shlibdeps -Tdebian/substvars debian/outrider/usr/bin/outrider
    echo "misc:Depends=" >> debian/substvars
    dpkg-gencontrol -poutrider -v"$version" -Tdebian/substvars -Pdebian/outrider -fdebian/files
)

# md5sums of everything but the conffiles, whose sums dpkg keeps itself.
(cd "$pkg" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort \
    | xargs md5sum > DEBIAN/md5sums)
chmod 0644 "$pkg/DEBIAN/md5sums"
find "$pkg" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0 touch --no-dereference --date="@$SOURCE_DATE_EPOCH"

deb="$out/outrider_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
note "built $deb"
echo "$deb"
