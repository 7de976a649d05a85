# Helpers the shell benchmarks share: source "$(dirname "$0")/lib.sh".

# free_port: a TCP port nothing on this host's loopback listens on.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}

# wait_port PORT: 0 once 127.0.0.1:PORT accepts a connection, 1 after 5 s.
wait_port() {
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
    return 1
}
