#!/usr/bin/env bash
# Start Debian's OpenSSH server on a free loopback port, from DIR, as a
# non-daemon (`/usr/sbin/sshd -D -f CONFIG`): a stand-in for a host behind a
# port forward. Key authentication only, for the user running the tests.
#   sshd.sh DIR        start; writes DIR/sshd.env
#   sshd.sh stop DIR   stop it
# DIR/sshd.env: SSHD_PID, SSHD_PORT, SSH_USER, SSH_HOST_KEY_FILE (the
# server's public host key), SSH_IDENTITY (the client key, OpenSSH format) and
# SSH_IDENTITY_DROPBEAR (the same key in dropbear's format).
set -euo pipefail

if [ "${1:-}" = stop ]; then
    dir=$2
    [ -f "$dir/sshd.env" ] && . "$dir/sshd.env" && kill "$SSHD_PID" 2>/dev/null || true
    exit 0
fi

dir=$(cd "$1" && pwd)
for tool in /usr/sbin/sshd ssh-keygen dropbearconvert python3; do
    command -v "$tool" >/dev/null || { echo "sshd.sh: $tool is missing: run tests/setup.sh" >&2; exit 1; }
done
. "$(dirname "$0")/lib.sh"

ssh_dir=$dir/sshd
mkdir -p "$ssh_dir"
chmod 700 "$ssh_dir"
cd "$ssh_dir"
rm -f host_ed25519 host_ed25519.pub id_ed25519 id_ed25519.pub id_dropbear
ssh-keygen -q -t ed25519 -N '' -C wancert-lab-host -f host_ed25519
ssh-keygen -q -t ed25519 -N '' -C wancert-lab-client -f id_ed25519
cp id_ed25519.pub authorized_keys
chmod 600 authorized_keys
dropbearconvert openssh dropbear id_ed25519 id_dropbear >/dev/null 2>&1
# As root, sshd wants its privilege separation directory (systemd makes it
# at boot; there may be no systemd here).
if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
    mkdir -m 0755 -p /run/sshd
fi

user=$(id -un)
for attempt in 1 2 3 4 5; do
    port=$(free_port)
    cat > sshd_config <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $ssh_dir/host_ed25519
PidFile none
AuthorizedKeysFile $ssh_dir/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
UsePAM no
StrictModes no
PrintMotd no
LogLevel VERBOSE
CONF
    # Its output to a file: an inherited pipe would keep the caller waiting.
    /usr/sbin/sshd -D -f "$ssh_dir/sshd_config" -E "$ssh_dir/sshd.log" > stdout.log 2>&1 &
    pid=$!
    if await_listen "$pid" "$port"; then
        cat > "$dir/sshd.env" <<ENV
SSHD_PID=$pid
SSHD_PORT=$port
SSH_USER=$user
SSH_HOST_KEY_FILE=$ssh_dir/host_ed25519.pub
SSH_IDENTITY=$ssh_dir/id_ed25519
SSH_IDENTITY_DROPBEAR=$ssh_dir/id_dropbear
ENV
        exit 0
    fi
done
echo "sshd.sh: sshd did not start; its log:" >&2
cat sshd.log >&2
exit 1
