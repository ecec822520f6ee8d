#!/usr/bin/env bash
# build-deb.sh - build the Debian packages (debian/) with dpkg-buildpackage.
#
#   scripts/build-deb.sh [--version-suffix SUFFIX] [OUTDIR]   (default: .)
#
# It builds in a copy of the tree: dpkg-buildpackage writes its output next
# to the source directory, and the tree stays as it was.  --version-suffix
# adds a changelog entry with the version plus SUFFIX (e.g. +test1) to that
# copy only, for a test of an upgrade.  Prints the paths of the .deb files.
# The packages it needs come from ./build.sh deb (which calls this script).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
suffix=
if [ "${1:-}" = --version-suffix ]; then
    suffix=$2
    shift 2
fi
out=$(cd "${1:-.}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/virtnet-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The tracked and untracked-but-not-ignored files, without build products.
mkdir "$work/src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
        tar --null -T - -cf -) | tar -xf - -C "$work/src"
else
    (cd "$top" && tar --exclude='./build*' --exclude=./run -cf - .) | tar -xf - -C "$work/src"
fi

if [ -n "$suffix" ]; then
    version=$(cd "$work/src" && dpkg-parsechangelog -S Version)
    (cd "$work/src" && DEBFULLNAME="virtnet build-deb.sh" DEBEMAIL="nobody@localhost" \
        dch --newversion "$version$suffix" --distribution unstable --force-distribution \
        "Test build $version$suffix (scripts/build-deb.sh --version-suffix)." >/dev/null 2>&1)
fi

(cd "$work/src" && dpkg-buildpackage -us -uc -b -j"$(nproc 2>/dev/null || echo 2)") \
    >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; echo "build-deb.sh: dpkg-buildpackage failed" >&2; exit 1; }
for f in "$work"/*.deb "$work"/*.ddeb; do
    [ -e "$f" ] || continue
    mv "$f" "$out/"
    echo "$out/$(basename "$f")"
done
cp "$work"/*.buildinfo "$work"/*.changes "$out/" 2>/dev/null || true
