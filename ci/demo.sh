#!/usr/bin/env bash
# demo.sh — the worked example of SPEC.md on loopback (`make demo`, after `make all` put the
# six programs at the repository root): the sample blocks in a temporary directory, the
# four servers on a free port offset, each client command with its output and exit code,
# alichain.txt, the server logs. Exits non-zero if an expected line is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
for p in serverA serverB serverC serverM clientA clientB; do
  [ -x "$root/$p" ] || { echo "demo: $root/$p is missing (run make first)" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/alichain-demo.XXXXXX")
pids=()
stop_servers() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_servers; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM

# A port offset whose six ports are free now (starting somewhere in 400..999 by our pid,
# so two demos at once rarely try the same one).
# The six base ports are core/ports.h's, read by tests/ports.py.
offset=$(/usr/bin/python3 - "$$" "$root" <<'EOF'
import socket, sys
sys.path.insert(0, sys.argv[2] + "/tests")
from ports import TCP_BASE, UDP_BASE
start = 400 + int(sys.argv[1]) % 600
for k in range(600):
    off = 400 + (start - 400 + k) % 600
    socks = []
    try:
        for base, kind in ([(b, socket.SOCK_DGRAM) for b in UDP_BASE.values()] +
                           [(b, socket.SOCK_STREAM) for b in TCP_BASE.values()]):
            s = socket.socket(socket.AF_INET, kind)
            socks.append(s)
            s.bind(("127.0.0.1", base + off))
        print(off)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
else:
    sys.exit("demo: no free port offset in 400..999")
EOF
)

unset ALICHAIN_BLOCK ALICHAIN_TXLIST ALICHAIN_HOST_M ALICHAIN_HOST_A ALICHAIN_HOST_B \
      ALICHAIN_HOST_C ALICHAIN_TIMEOUT_MS ALICHAIN_CLIENT_TIMEOUT_MS ALICHAIN_INSECURE
# the servers' shared key: created by the first server in the demo's directory, never
# the user's ~/.alichain.key
export ALICHAIN_PORT_OFFSET=$offset ALICHAIN_SEED=1 ALICHAIN_KEY_FILE=$dir/alichain.key
cp "$root"/data/sample/block1.txt "$root"/data/sample/block2.txt "$root"/data/sample/block3.txt "$dir"/
echo "== demo in $dir, ALICHAIN_PORT_OFFSET=$offset ALICHAIN_SEED=1"

# Starts a server in the demo directory and waits (at most 10 s) for its first line.
start_server() {
  local name=$1 up=$2
  (cd "$dir" && exec "$root/$name" >"$name.log" 2>&1) &
  pids+=($!)
  local pid=$! i
  for i in $(seq 100); do
    if grep -qF "$up" "$dir/$name.log" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "demo: $name did not start:" >&2
  cat "$dir/$name.log" >&2
  exit 1
}
start_server serverA "The ServerA is up and running"
start_server serverB "The ServerB is up and running"
start_server serverC "The ServerC is up and running"
start_server serverM "The main server is up and running."

failures=0
# run <expected line or ""> <client> <args...>: shows the command, its output, its exit code.
run() {
  local expect=$1 out rc=0
  shift
  echo
  echo "\$ ./$*"
  out=$(cd "$dir" && "$root/$1" "${@:2}" 2>&1) || rc=$?
  printf '%s\n(exit %d)\n' "$out" "$rc"
  if [ -n "$expect" ] && ! grep -qxF "$expect" <<<"$out"; then
    echo "demo: MISSING: $expect" >&2
    failures=$((failures + 1))
  fi
}
run 'The current balance of "Chinmay" is : 881 alicoins.' clientA Chinmay
run 'The current balance of "Luke" is : 1180 alicoins.' clientB Luke
run 'The current balance of "Chinmay" is : 861 alicoins.' clientA Chinmay Luke 20
run '1     Luke                1          -20' clientA Chinmay stats
run 'The sorted list of 10 transactions is ready in alichain.txt on the main server.' \
    clientB TXLIST

echo
echo "\$ cat alichain.txt"
cat "$dir/alichain.txt" || failures=$((failures + 1))
if [ "$(cut -d' ' -f1 "$dir/alichain.txt" 2>/dev/null | tr '\n' ' ')" != "1 2 3 4 5 6 7 8 9 10 " ]; then
  echo "demo: alichain.txt does not hold serials 1..10 in order" >&2
  failures=$((failures + 1))
fi

stop_servers
for name in serverA serverB serverC serverM; do
  echo
  echo "== $name.log"
  cat "$dir/$name.log"
done
echo
if [ "$failures" -ne 0 ]; then
  echo "demo: $failures expectation(s) failed" >&2
  exit 1
fi
echo "demo: the worked example of SPEC.md ran as expected"
