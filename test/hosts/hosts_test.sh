#!/bin/bash
# Several hosts on one machine: NHOSTS (default 3) mount + pid namespaces,
# each with its own system uuid and its own famfs-fused on the same mount
# path, over one shared emulated device. Host 0 owns the filesystem and
# creates a tree; the clients see it appear, read identical bytes through
# read() and mmap, and are refused when they try to create.
# Run as root: ctest -L hosts (or NHOSTS=5 test/hosts/hosts_test.sh).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"
N=${NHOSTS:-3}

# Each host has its own uuid; the device belongs to host 0.
names=()
for ((h = 0; h < N; h++)); do names+=("host$h"); done
hosts_setup "${names[@]}"
for ((h = 0; h < N; h++)); do
    hosts_start bash "$here/host.sh" "$h" "$N" "$S" "$W/famfs0" "$MP"
done

# Round 1 ends when every client has checked the tree.
deadline=$((SECONDS + 120))
for ((h = 1; h < N; h++)); do
    while [ ! -e "$S/host$h.round1" ] && [ ! -e "$S/host$h.done" ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.05
    done
done
touch "$S/round1.ready.all"
for ((h = 0; h < N; h++)); do
    while [ ! -e "$S/host$h.done" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
done

hosts_collect "${names[@]}"
check_outside() { ! grep -q " $MP " /proc/self/mountinfo; }
check "no host's mount leaked into the harness namespace" check_outside
printf "%s hosts: " "$N"
summary
