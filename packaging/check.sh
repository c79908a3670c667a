#!/usr/bin/env bash
# Build the bundle and the .deb, install the .deb into a scratch root (dpkg -x) and run the INSTALLED self-test
# with no Python on the PATH: offscreen, then under Xvfb (QT_QPA_PLATFORM=xcb) when xvfb-run is installed.
#
#   bash packaging/check.sh            (from anywhere; everything goes to build/ and dist/, which git ignores)
#
# Prints each step's result, the build time, the bundle and .deb sizes; exits non-zero when any step fails.
# Steps it cannot run are SKIPPED and said so: Xvfb where xvfb-run is absent (CI), the .deb where dpkg-deb is.
# Xvfb: apt-get install -y --no-install-recommends xvfb libxcb-icccm4 libxcb-keysyms1 xdotool
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
scratch=$REPO/build/check
failures=()
results=()

step() {  # step NAME COMMAND...: run, keep the output in build/check/NAME.log, print and record the result
    local name=$1; shift
    local log="$scratch/$name.log" t0 rc
    t0=$(date +%s)
    "$@" > "$log" 2>&1
    rc=$?
    sed 's/^/    /' "$log"
    if [ $rc -eq 0 ]; then
        results+=("ok      $name ($(( $(date +%s) - t0 )) s)")
    else
        results+=("FAILED  $name (exit $rc, $(( $(date +%s) - t0 )) s; log: $log)")
        failures+=("$name")
    fi
    echo "--- ${results[-1]}"
    return $rc
}

rm -rf "$scratch" && mkdir -p "$scratch"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -1)
root=$scratch/root
home=$scratch/home
have_dpkg=1
command -v dpkg-deb > /dev/null 2>&1 || have_dpkg=0

# 1. bundle + .deb (build.sh checks the bundle: no torch module or file, run-time files present, size)
build_args=(--deb)
[ $have_dpkg = 1 ] || build_args=()
echo "== 1. build: bash packaging/build.sh ${build_args[*]}"
if ! step build bash packaging/build.sh "${build_args[@]}"; then
    printf '%s\n' "${results[@]}"; echo "check.sh: the build failed; nothing to install"; exit 1
fi
build_line=$(grep '^build time:' "$scratch/build.log" || true)
size_line=$(grep '^bundle size:' "$scratch/build.log" || true)
deb_line=$(grep '^deb:' "$scratch/build.log" || true)

if [ $have_dpkg = 1 ]; then
    deb=dist/biometrix_${version}_$(dpkg --print-architecture).deb
    # 2. the package's files and control data, read without installing
    echo "== 2. package contents: packaging/deb/deb_check.py $deb"
    step deb-contents build/venv-cpu/bin/python packaging/deb/deb_check.py "$deb" --version "$version"
    # 3. install into a scratch root, as dpkg would lay it out
    echo "== 3. install: dpkg -x $deb $root"
    step install dpkg -x "$deb" "$root"
else
    results+=("SKIPPED deb-contents, install: dpkg-deb is not installed (not Debian); the bundle is tested in place")
    echo "--- ${results[-1]}"
    mkdir -p "$root/opt" && cp -a dist/biometrix "$root/opt/biometrix"
fi
exe=$root/opt/biometrix/biometrix
mkdir -p "$home"

# 4. the installed self-test, offscreen, with an empty environment: no Python anywhere on the PATH
echo "== 4. selftest offscreen: env -i PATH=/nonexistent HOME=$home QT_QPA_PLATFORM=offscreen $exe --selftest"
expect_platform() {  # expect_platform NAME COMMAND...: the self-test passes and its windows were on Qt platform NAME
    local want=$1 out rc; shift
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out"
    [ $rc -eq 0 ] || return $rc
    grep -q "on Qt platform '$want'" <<< "$out" || { echo "no window was shown on Qt platform '$want'"; return 1; }
}
selftest_offscreen() {
    expect_platform offscreen env -i PATH=/nonexistent HOME="$home" QT_QPA_PLATFORM=offscreen "$exe" --selftest
}
step selftest-offscreen selftest_offscreen

# 5. the same under a real X server (the xcb platform plugin and its libraries), when Xvfb is installed
if command -v xvfb-run > /dev/null 2>&1; then
    echo "== 5. selftest under Xvfb: xvfb-run -a env -i PATH=/nonexistent ... QT_QPA_PLATFORM=xcb $exe --selftest"
    selftest_xvfb() {
        expect_platform xcb xvfb-run -a sh -c 'exec env -i PATH=/nonexistent DISPLAY="$DISPLAY" \
            XAUTHORITY="$XAUTHORITY" HOME="$1" QT_QPA_PLATFORM=xcb "$2" --selftest' sh "$home" "$exe"
    }
    step selftest-xvfb selftest_xvfb
else
    results+=("SKIPPED selftest-xvfb: xvfb-run is not installed (apt-get install -y --no-install-recommends xvfb \
libxcb-icccm4 libxcb-keysyms1 xdotool)")
    echo "--- ${results[-1]}"
fi

# 6. the database is the user's: the installed app creates it in HOME's data folder; removing the package's files
#    (what dpkg -r does, there being no maintainer scripts) leaves it there
db_survives() {
    local db="$home/.local/share/biometrix/biometrix.db"
    env -i PATH=/nonexistent HOME="$home" "$exe" db migrate || return
    [ -f "$db" ] || { echo "the installed app did not create $db"; return 1; }
    echo "created by the installed app: $db"
    dpkg-deb --fsys-tarfile "$REPO/$deb" | tar -t | grep -v '/$' | sed 's|^\./||' | while read -r f; do
        rm -f "$root/$f"
    done
    find "$root" -depth -type d -empty -delete
    [ ! -e "$exe" ] || { echo "$exe still there after removing the package's files"; return 1; }
    [ -f "$db" ] || { echo "$db is gone after removing the package's files"; return 1; }
    echo "package files removed ($root is $(find "$root" -type f 2>/dev/null | wc -l) files); $db kept"
    echo "user files kept: $(cd "$home" && find . -type f | sort | tr '\n' ' ')"
}
if [ $have_dpkg = 1 ]; then
    echo "== 6. database survives removal"
    step db-survives-removal db_survives
else
    results+=("SKIPPED db-survives-removal: no .deb without dpkg-deb")
    echo "--- ${results[-1]}"
fi

echo
echo "== summary"
printf '%s\n' "${results[@]}"
echo "${build_line:-build time: (not printed)}"
echo "${size_line:-bundle size: (not printed)}"
echo "${deb_line:-deb: (not printed)}"
if [ ${#failures[@]} -gt 0 ]; then
    echo "check.sh: FAILED: ${failures[*]}"
    exit 1
fi
echo "check.sh: all steps passed"
