# shellcheck shell=bash
# Host preparation: packages, cached Debian kernel + busybox, initramfs.
#
# Everything downloaded lives under $FAMFS_VM_CACHE (default
# /var/cache/famfs-vm), never in the repository.

FAMFS_VM_CACHE=${FAMFS_VM_CACHE:-/var/cache/famfs-vm}

# Host packages: qemu runs the guests; ndctl/daxctl (and their libraries)
# are used *inside* the guests through the read-only 9p view of the host root.
HOST_PKGS=(qemu-system-x86 ndctl daxctl)

# Kernel modules the guests need (dependencies are resolved from modules.dep).
# Loaded by /init before the 9p root is mounted:
BASE_MODULES=(virtio_pci 9pnet_virtio 9p fuse overlay)
# Loaded by /init after the (optional) wait for the devdax info block:
NVDIMM_MODULES=(libnvdimm nfit nd_pmem nd_btt dax_pmem device_dax)

ensure_host_packages() {
    local missing=() p
    for p in "${HOST_PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing host packages: ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "${missing[@]}" >"$FAMFS_VM_CACHE/apt-install.log" 2>&1; then
        log "apt-get install failed; retrying after apt-get update"
        apt-get update >>"$FAMFS_VM_CACHE/apt-install.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "${missing[@]}" >>"$FAMFS_VM_CACHE/apt-install.log" 2>&1 ||
            die "cannot install ${missing[*]} (see $FAMFS_VM_CACHE/apt-install.log)"
    fi
}

# Name of the versioned kernel package behind linux-image-amd64
# (e.g. linux-image-6.1.0-56-amd64). Falls back to what is already cached.
kernel_package_name() {
    local name
    name=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    if [[ -z $name ]]; then
        apt-get update >/dev/null 2>&1 || true
        name=$(apt-cache depends linux-image-amd64 2>/dev/null |
            awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    fi
    if [[ -z $name ]]; then
        # Offline: reuse the newest cached kernel, if any.
        name=$(find "$FAMFS_VM_CACHE/debs" -maxdepth 1 -name 'linux-image-[0-9]*.deb' \
            -printf '%f\n' 2>/dev/null | sort -V | tail -1 | cut -d_ -f1)
    fi
    [[ -n $name ]] || die "cannot determine the Debian kernel package (apt-cache depends linux-image-amd64)"
    echo "$name"
}

# Download (apt-get download, no system change) and unpack a package into
# $FAMFS_VM_CACHE/root. Skips work already done.
fetch_and_unpack() {
    local pkg=$1 deb
    mkdir -p "$FAMFS_VM_CACHE/debs" "$FAMFS_VM_CACHE/root" "$FAMFS_VM_CACHE/stamps"
    [[ -e $FAMFS_VM_CACHE/stamps/$pkg ]] && return 0
    deb=$(find "$FAMFS_VM_CACHE/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -1)
    if [[ -z $deb ]]; then
        log "downloading $pkg from the Debian archive"
        (cd "$FAMFS_VM_CACHE/debs" && apt-get download "$pkg" >/dev/null 2>&1) ||
            (apt-get update >/dev/null 2>&1 && cd "$FAMFS_VM_CACHE/debs" &&
                apt-get download "$pkg" >/dev/null 2>&1) ||
            die "apt-get download $pkg failed"
        deb=$(find "$FAMFS_VM_CACHE/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -1)
    fi
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$FAMFS_VM_CACHE/root"
    touch "$FAMFS_VM_CACHE/stamps/$pkg"
}

# Sets KVER, VMLINUZ, MODDIR, BUSYBOX.
prepare_kernel_and_busybox() {
    local kpkg
    mkdir -p "$FAMFS_VM_CACHE"
    kpkg=$(kernel_package_name)
    fetch_and_unpack "$kpkg"
    fetch_and_unpack busybox-static
    KVER=${kpkg#linux-image-}
    VMLINUZ=$FAMFS_VM_CACHE/root/boot/vmlinuz-$KVER
    MODDIR=$FAMFS_VM_CACHE/root/lib/modules/$KVER
    BUSYBOX=$FAMFS_VM_CACHE/root/bin/busybox
    [[ -r $VMLINUZ ]] || die "missing $VMLINUZ"
    [[ -x $BUSYBOX ]] || die "missing $BUSYBOX"
    if [[ ! -s $MODDIR/modules.dep ]]; then
        log "generating modules.dep for $KVER (busybox depmod)"
        "$BUSYBOX" depmod -b "$FAMFS_VM_CACHE/root" "$KVER"
    fi
}

# Print the module's path (relative to MODDIR) after those of its
# dependencies (depth first, so every module follows what it needs).
module_closure() {
    local name=$1 line path d
    line=$(grep -E "(^|/)${name}\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep" | head -1)
    [[ -n $line ]] || die "module $name not found in $MODDIR/modules.dep"
    path=${line%%:*}
    for d in ${line#*:}; do
        d=$(basename "$d")
        module_closure "${d%%.ko*}"
    done
    echo "$path"
}

# Write an ordered, de-duplicated load list for the given module names.
module_list() {
    local m
    for m in "$@"; do module_closure "$m"; done | awk '!seen[$0]++'
}

# Build $1 (a gzip'd newc cpio) with busybox, the modules and the /init script.
build_initramfs() {
    local out=$1 stage m
    stage=$(mktemp -d "${TMPDIR:-/tmp}/famfs-vm-initramfs.XXXXXX")
    mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
    cp "$BUSYBOX" "$stage/bin/busybox"
    ln -s busybox "$stage/bin/sh"
    module_list "${BASE_MODULES[@]}" >"$stage/modules.base"
    module_list "${NVDIMM_MODULES[@]}" | grep -vxF -f "$stage/modules.base" >"$stage/modules.nvdimm" || true
    while read -r m; do
        mkdir -p "$stage/lib/modules/$(dirname "$m")"
        cp "$MODDIR/$m" "$stage/lib/modules/$m"
    done < <(cat "$stage/modules.base" "$stage/modules.nvdimm")
    install -m 0755 "$HARNESS_DIR/guest/init" "$stage/init"
    (cd "$stage" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1) >"$out"
    rm -rf "$stage"
}
