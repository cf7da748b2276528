# Helpers for the lab scripts (sourced, not run).

# A port free for both UDP and TCP on 127.0.0.1 right now. Another process
# may take it before the server binds it: callers retry on failure.
free_port() {
    python3 -c '
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
'
}

# Stop the process whose PID is VAR=pid in ENV_FILE, waiting for it to go,
# so that its directory can be removed right after.
stop_pid() {
    local env_file=$1 var=$2 pid
    [ -f "$env_file" ] || return 0
    pid=$(sed -n "s/^$var=//p" "$env_file")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    return 0
}

# Wait until process PID accepts TCP connections on 127.0.0.1:PORT (status
# 0). If it dies first or is still not listening after 5 s, it is stopped
# and the status is 1: the caller retries on another port (free_port's race)
# or reports the server's log.
await_listen() {
    local pid=$1 port=$2
    for _ in $(seq 100); do
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
}

# A random base64 TSIG secret of N bytes.
tsig_secret() {
    head -c "$1" /dev/urandom | base64 -w0
}
