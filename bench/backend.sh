# Sourced by the benchmarks: the nginx static-file backend every proxy is measured in front of.
#
#   write_backend WORK_DIR PORT    writes WORK_DIR/www (1 KiB, 1 MiB and health files) and WORK_DIR/backend.conf
write_backend() {
    local work="$1" port="$2"
    mkdir -p "$work/www" "$work/logs"
    head -c 1024 /dev/urandom > "$work/www/1k.bin"
    head -c $((1024 * 1024)) /dev/urandom > "$work/www/1m.bin"
    echo ok > "$work/www/health"
    cat > "$work/backend.conf" <<CONF
worker_processes 1;
daemon off;
error_log $work/logs/backend.err warn;
pid $work/backend.pid;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
}
