#!/usr/bin/env bash
# The Debian package of a built bundle (dpkg-deb, zstd):
#
#   bash packaging/deb/build-deb.sh BUNDLE_DIR OUT_DIR [--package NAME] [--version V] [--arch A]
#
# /opt/biometrix (the bundle), /usr/bin/biometrix -> /opt/biometrix/biometrix, a desktop entry, the kiosk as a
# systemd user unit (installed disabled), README.Debian. Version: pyproject.toml's unless --version.
# There are NO maintainer scripts (preinst/postinst/prerm/postrm): removing or purging the package deletes its
# own files only, never the enrollment database, which lives in each user's data folder.
# Prints the path and size of the .deb.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bundle=${1:?usage: build-deb.sh BUNDLE_DIR OUT_DIR [--package NAME] [--version V] [--arch A]}
out=${2:?usage: build-deb.sh BUNDLE_DIR OUT_DIR [--package NAME] [--version V] [--arch A]}
shift 2
package=biometrix
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/pyproject.toml" | head -1)
arch=$(dpkg --print-architecture)
while [ $# -gt 0 ]; do
    case $1 in
        --package) package=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --arch) arch=$2; shift 2 ;;
        *) echo "build-deb.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$version" ] || { echo "build-deb.sh: no version in $repo/pyproject.toml" >&2; exit 1; }
[ -x "$bundle/biometrix" ] || { echo "build-deb.sh: $bundle/biometrix is not an executable bundle" >&2; exit 1; }
if [ -e "$bundle/enrollment_db" ]; then  # would become the database of every user (portable mode)
    echo "build-deb.sh: $bundle/enrollment_db exists; a package must not ship a database folder" >&2; exit 1
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
root=$staging/root
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
         "$root/usr/lib/systemd/user" "$root/usr/share/doc/$package"
cp -a "$bundle" "$root/opt/biometrix"
ln -s /opt/biometrix/biometrix "$root/usr/bin/biometrix"
install -m 644 "$here/biometrix.desktop" "$root/usr/share/applications/biometrix.desktop"
install -m 644 "$here/biometrix-kiosk.service" "$root/usr/lib/systemd/user/biometrix-kiosk.service"
install -m 644 "$here/README.Debian" "$root/usr/share/doc/$package/README.Debian"
chmod -R u=rwX,go=rX "$root"
installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
conflicts=$([ "$package" = biometrix ] && echo biometrix-gpu || echo biometrix)
cat > "$root/DEBIAN/control" <<CONTROL
Package: $package
Version: $version
Architecture: $arch
Maintainer: biometrix maintainers <biometrix@localhost>
Installed-Size: $installed_kb
Depends: libc6 (>= 2.36), libgl1, libegl1, libxcb1, fontconfig
Recommends: fonts-dejavu-core
Conflicts: $conflicts
Replaces: $conflicts
Section: misc
Priority: optional
Description: biometric verification by signature and by face (desktop app and kiosk)
 Enrolls customers' reference signatures and face photos and verifies new samples
 against them (Accept, Reject or Refer), with an append-only audit log. A self-contained
 bundle in /opt/biometrix: Python, Qt, OpenCV, onnxruntime and the models, no PyTorch.
 The enrollment database lives in each user's data folder and is kept when the
 package is removed or purged.
CONTROL
mkdir -p "$out"
deb="$out/${package}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zzstd --build "$root" "$deb" >/dev/null
bytes=$(stat -c %s "$deb")
awk -v b="$bytes" -v k="$installed_kb" -v d="$deb" 'BEGIN {
    printf "deb: %s, %.1f MB (%.1f MiB), installs %.1f MB\n", d, b / 1e6, b / 1048576, k * 1024 / 1e6 }'
