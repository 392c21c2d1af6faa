#!/usr/bin/env bash
# Tests the installed Debian packages (scripts/install-packages.sh installs
# them before ctest runs): the files each package ships, the manual pages and
# completion as a user reaches them, a pkg-config consumer of libfamfs built
# and run out of tree, lintian, removal leaving nothing behind, and
# `cmake --install` into a staging directory for other distributions.
#
# Env: FAMFS_DEB_DIR (where build-packages.sh left the .debs; default
# /var/cache/famfs-deb), FAMFS_BUILD_DIR (the build tree, for cmake --install).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/check.sh"
DEBS=${FAMFS_DEB_DIR:-/var/cache/famfs-deb}
BUILD=${FAMFS_BUILD_DIR:?build tree}
T=$(mktemp -d /tmp/famfs-package-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in famfs libfamfs0 libfamfs-dev; do
    if ! installed "$p"; then
        echo "SKIP: package $p is not installed (run scripts/install-packages.sh first)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

echo "== what the packages ship"
dpkg -L famfs libfamfs0 libfamfs-dev >"$T/files"
for f in /usr/bin/famfs /usr/sbin/famfs-fused /usr/sbin/mkfs.famfs /usr/sbin/mount.famfs \
    /lib/systemd/system/famfs-fused@.service /usr/share/man/man8/famfs.8.gz \
    /usr/share/man/man8/famfs-creat.8.gz /usr/share/man/man8/famfs-fused.8.gz \
    /usr/share/man/man8/mount.famfs.8.gz /usr/share/man/man8/mkfs.famfs.8.gz \
    /usr/share/bash-completion/completions/famfs /usr/include/famfs/fs.h \
    /usr/lib/x86_64-linux-gnu/libfamfs.so /usr/lib/x86_64-linux-gnu/pkgconfig/famfs.pc \
    /usr/lib/x86_64-linux-gnu/famfs/libfamfs-direct.so /usr/include/famfs/direct.h; do
    check "dpkg -L lists $f" grep -qx "$f" "$T/files"
done
check "libfamfs0 ships the versioned library" \
    bash -c "dpkg -L libfamfs0 | grep -q '/libfamfs\.so\.0\.'"
check "famfs depends on libfamfs0 (dpkg-shlibdeps)" \
    bash -c "dpkg-query -W -f='\${Depends}' famfs | grep -q 'libfamfs0'"
check "famfs depends on libfuse3 (dpkg-shlibdeps)" \
    bash -c "dpkg-query -W -f='\${Depends}' famfs | grep -q 'libfuse3-3'"
check "the installed famfs reports the changelog's version" bash -c \
    "famfs --version | grep -qF \"\$(dpkg-query -W -f='\${Version}' famfs)\""

echo "== found where users look"
check "mount(8)'s helper is the package's" test "$(readlink -f /sbin/mount.famfs)" = /usr/sbin/famfs-fused
check "famfs on PATH is the package's" test "$(command -v famfs)" = /usr/bin/famfs
check "famfs run preloads the package's libfamfs-direct.so" bash -c \
    "famfs run -- sh -c 'echo \$LD_PRELOAD' | grep -qx /usr/lib/x86_64-linux-gnu/famfs/libfamfs-direct.so"
check "man -w famfs-creat" bash -c "man -w famfs-creat | grep -q '^/usr/share/man/man8/famfs-creat.8'"
# mount.famfs(8) and mkfs.famfs(8) are links to the pages they are the same program as.
check "man -w mount.famfs finds famfs-fused(8)" bash -c "man -w mount.famfs | grep -q 'man8/famfs-fused.8'"
check "man -w mkfs.famfs finds famfs-mkfs(8)" bash -c "man -w mkfs.famfs | grep -q 'man8/famfs-mkfs.8'"
check "man famfs-creat renders the SYNOPSIS of --help" bash -c \
    "MANWIDTH=100 man famfs-creat 2>/dev/null | grep -q 'famfs creat -s SIZE'"
check "every option of 'famfs creat --help' is in its manual page" bash -c '
    page=$(MANWIDTH=200 man famfs-creat 2>/dev/null)
    for o in $(famfs creat --help | sed -n "s/^  \(-[^ ]*\).*/\1/p" | tr , " "); do
        grep -qe "$o" <<<"$page" || { echo "missing $o"; exit 1; }
    done'
unit=/lib/systemd/system/famfs-fused@.service
check "the unit runs the package's daemon" grep -q '^ExecStart=/usr/sbin/famfs-fused ' "$unit"
check "the unit's manual page exists" bash -c \
    "grep -q '^Documentation=.*man:famfs-fused(8)' '$unit' && man -w famfs-fused >/dev/null"
cp "$unit" "$T/famfs-fused@mnt-x.service"
check "systemd-analyze verify the installed unit (an instance)" \
    bash -c "out=\$(systemd-analyze verify '$T/famfs-fused@mnt-x.service' 2>&1) && [ -z \"\$out\" ] || { echo \"\$out\"; false; }"

echo "== bash completion"
complete_words() {  # complete_words WORD... : what completing the last word offers
    bash -c 'source /usr/share/bash-completion/bash_completion
             source /usr/share/bash-completion/completions/famfs
             COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
             _famfs; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
check "famfs cr<TAB> offers creat" bash -c "$(declare -f complete_words); complete_words famfs cr | grep -qx creat"
check "famfs creat --s<TAB> offers --size and --seed" bash -c \
    "$(declare -f complete_words); out=\$(complete_words famfs creat --s); grep -qx -- --size <<<\"\$out\" && grep -qx -- --seed <<<\"\$out\""
check "famfs --dev<TAB> offers --device" bash -c \
    "$(declare -f complete_words); complete_words famfs --dev | grep -qx -- --device"
check "completion is registered for mount.famfs" bash -c \
    "source /usr/share/bash-completion/bash_completion; source /usr/share/bash-completion/completions/mount.famfs; complete -p mount.famfs | grep -q _famfs_fused"

echo "== a pkg-config consumer of libfamfs, built out of tree"
cat >"$T/consumer.cc" <<'CC'
// A third-party program on libfamfs: formats an emulated device, creates a
// file through the log, writes it, then reopens the device and reads back.
#include <famfs/device.h>
#include <famfs/fs.h>
#include <famfs/uuid.h>
#include <cstdio>
#include <cstring>
int main(int argc, char** argv) {
    if (argc != 3) return 2;
    try {
        famfs::Device::create_emulated(argv[1], 4ull << 30, false);
        {
            auto dev = famfs::Device::open(argv[1], famfs::Device::Access::ReadWrite);
            famfs::MkfsOptions mo;
            mo.system_uuid = *famfs::parse_uuid(argv[2]);
            famfs::mkfs(dev, mo);
        }
        famfs::Filesystem::Options o;
        o.access = famfs::Device::Access::ReadWrite;
        auto fs = famfs::Filesystem::open(argv[1], o);
        const famfs::Node& f = fs->create_file({.relpath = "hello", .size = 5});
        fs->write_data(f, 0, "hello", 5);
        auto again = famfs::Filesystem::open(argv[1], {});
        char buf[6] = {};
        const famfs::Node* n = again->tree().resolve("hello");
        if (!n || again->read_data(*n, 0, buf, 5) != 5) return 1;
        std::printf("%s %s\n", buf, famfs::to_string(again->role()).data());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
        return 1;
    }
    return 0;
}
CC
uuid=$(cat /proc/sys/kernel/random/uuid)
printf '%s\n' "$uuid" >"$T/system_uuid"
check "a consumer compiles and links with \$(pkg-config --cflags --libs famfs)" \
    bash -c "g++ -o '$T/consumer' '$T/consumer.cc' \$(pkg-config --cflags --libs famfs)"
check "the consumer links the installed libfamfs.so.0" bash -c \
    "lib=\$(ldd '$T/consumer' | awk '/libfamfs.so.0/ {print \$3}') &&
     [ \"\$(readlink -f \"\$lib\")\" = \"\$(readlink -f /usr/lib/x86_64-linux-gnu/libfamfs.so.0)\" ]"
check "the consumer formats, creates, writes and reads back through libfamfs" bash -c \
    "out=\$(FAMFS_SYSTEM_UUID_FILE='$T/system_uuid' '$T/consumer' '$T/dev0' '$uuid') && [ \"\$out\" = 'hello owner' ]"
check "the installed famfs CLI reads what the consumer wrote" bash -c \
    "famfs --device '$T/dev0' getmap hello >/dev/null && famfs fsck '$T/dev0' >/dev/null"
rm -f "$T/dev0"

echo "== lintian"
if command -v lintian >/dev/null; then
    lintian --fail-on error "$DEBS"/famfs_*.deb "$DEBS"/libfamfs0_*.deb "$DEBS"/libfamfs-dev_*.deb \
        >"$T/lintian" 2>&1
    rc=$?
    sed 's/^/  lintian: /' "$T/lintian"
    check "lintian reports no errors" test $rc -eq 0
else
    fail "lintian is not installed (scripts/install-deps.sh installs it)"
fi

echo "== cmake --install for other distributions"
stage=$T/stage
check "cmake --install into a staging prefix" \
    bash -c "DESTDIR=$stage cmake --install '$BUILD' >/dev/null"
for f in usr/local/bin/famfs usr/local/sbin/famfs-fused usr/local/sbin/mount.famfs \
    usr/local/sbin/mkfs.famfs usr/local/include/famfs/fs.h usr/local/lib/pkgconfig/famfs.pc \
    usr/local/share/man/man8/famfs-creat.8 usr/local/share/bash-completion/completions/famfs; do
    check "staged install has /$f" test -e "$stage/$f" -o -L "$stage/$f"
done
check "staged install has libfamfs.so.0" bash -c "ls $stage/usr/local/lib*/libfamfs.so.0 >/dev/null 2>&1 || ls $stage/usr/local/lib/*/libfamfs.so.0 >/dev/null 2>&1"

echo "== removal leaves no mount helper or unit behind"
if ls "$DEBS"/famfs_*.deb >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq famfs >/dev/null 2>&1
    check_fails "after apt-get remove famfs: no /sbin/mount.famfs" test -e /sbin/mount.famfs
    check_fails "after apt-get remove famfs: no famfs-fused@.service" \
        test -e /lib/systemd/system/famfs-fused@.service
    check_fails "after apt-get remove famfs: no famfs-creat manual page" man -w famfs-creat
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall "$DEBS"/famfs_*.deb >/dev/null 2>&1
    check "reinstalled famfs" test -x /usr/sbin/mount.famfs
else
    fail "no famfs_*.deb in $DEBS to reinstall after the removal check"
fi
summary
