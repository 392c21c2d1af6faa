#!/usr/bin/env bash
# Installs, from Debian 12's archive, everything famfs-fused needs to build,
# run and test (including the qemu VM harness and the kernel series).
# Idempotent: only missing packages are installed, and apt's lists are
# refreshed only when needed.
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config ccache
  # fuzzing and sanitizers (test/fuzz: libFuzzer comes with clang's runtime)
  clang libclang-rt-14-dev
  libfuse3-dev fuse3 libdaxctl-dev libndctl-dev libfmt-dev libspdlog-dev
  catch2 libcli11-dev nlohmann-json3-dev zlib1g-dev libsystemd-dev
  # run and test
  util-linux kmod xz-utils python3 systemd attr
  python3-numpy  # test/direct: numpy.memmap under famfs run
  # Debian packages (scripts/build-packages.sh) and their tests
  dpkg-dev debhelper fakeroot rsync lintian man-db bash-completion
  # VM harness (test/vm)
  qemu-system-x86 busybox-static ndctl daxctl cpio
  # the famfs kernel series (fuse-patches/: builds Linux 7.3 from Debian's source)
  git bc flex bison libelf-dev libssl-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing ${missing[*]}; run as root (sudo $0)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
