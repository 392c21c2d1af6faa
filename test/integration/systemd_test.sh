#!/bin/bash
# The systemd side: the template unit passes `systemd-analyze verify` (with no
# warnings), and famfs-fused -f sends READY=1 on $NOTIFY_SOCKET only once the
# mount answers, then stops cleanly on SIGTERM, as Type=notify expects.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
: "${UNIT:?path of the configured famfs-fused@.service}"

it_workdir
export FAMFS_SYSTEM_UUID_FILE=$W/uuid

# ---- systemd-analyze verify ------------------------------------------------------
inst=$(systemd-escape --path "$W/mnt")
# The installed unit runs /usr/.../sbin/famfs-fused; verify against the build's.
sed "s#^ExecStart=[^ ]*famfs-fused#ExecStart=$FAMFS_FUSED#" "$UNIT" >"$W/famfs-fused@$inst.service"
out=$(systemd-analyze verify "$W/famfs-fused@$inst.service" 2>&1); rc=$?
[ -n "$out" ] && echo "$out"
check "systemd-analyze verify: exit 0" [ $rc -eq 0 ]
check "systemd-analyze verify: no warnings" [ -z "$out" ]
check "unit is Type=notify with Restart=on-failure" \
    bash -c "grep -qx 'Type=notify' '$UNIT' && grep -qx 'Restart=on-failure' '$UNIT'"

# ---- sd_notify READY=1 after the mount answers -------------------------------------
"$FAMFS" mkfs --emulate 64M "$W/famfs0" >/dev/null
"$FAMFS" --device "$W/famfs0" creat -s 1M -S 5 f >/dev/null
mkdir -p "$W/mnt"
MOUNTS+=("$W/mnt")
python3 - "$W/notify" "$W/ready" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    while True:
        msg = s.recv(4096).decode()
        if "READY=1" in msg.split("\n"):
            open(sys.argv[2], "w").write(msg)
            break
except socket.timeout:
    pass
EOF
listener=$!
for _ in $(seq 100); do [ -S "$W/notify" ] && break; sleep 0.01; done
# As systemd runs it: foreground, under NOTIFY_SOCKET.
NOTIFY_SOCKET=$W/notify "$FAMFS_FUSED" "$W/famfs0" "$W/mnt" -f -o loglevel=warn &
daemon=$!
PIDS+=("$daemon")
wait "$listener"
check "READY=1 received" [ -s "$W/ready" ]
check "  ...with a STATUS line" grep -q '^STATUS=serving' "$W/ready"
check "  ...and the mount answers" "$IOCHECK" read "$W/mnt/f" 5
kill -TERM "$daemon"
wait "$daemon"
rc=$?
check "SIGTERM: foreground daemon exits 0 (rc $rc)" [ $rc -eq 0 ]
check "SIGTERM: mount removed" bash -c "! grep -q ' $W/mnt ' /proc/self/mountinfo"

summary
