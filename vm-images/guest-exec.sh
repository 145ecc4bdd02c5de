#!/usr/bin/env bash
# Runs a shell command in a guest started by run-guest.sh and prints its output (stdout and
# stderr together); exits with the command's exit status.
#   vm-images/guest-exec.sh [-t SECS] DIR NAME 'COMMAND'
# The guest kills COMMAND after SECS seconds (default 60; exit 137). Requests go over the
# guest's second serial port (DIR/NAME.agent) and run one at a time per guest. A command may
# start background jobs ('nc -l -p 5001 >/tmp/rx &'); they keep running after it returns.
# Exit 124 with a one-line error when the guest does not answer in time.
set -euo pipefail

T=60
if [ "${1:-}" = "-t" ]; then T=$2; shift 2; fi
[ $# -ge 3 ] || { echo "guest-exec.sh: usage: guest-exec.sh [-t SECS] DIR NAME 'COMMAND'" >&2; exit 2; }
[[ $T =~ ^[1-9][0-9]*$ ]] || { echo "guest-exec.sh: -t '$T' must be a positive number of seconds" >&2; exit 2; }
SOCK=$1/$2.agent NAME=$2
shift 2
[ -S "$SOCK" ] || { echo "guest-exec.sh: no agent socket $SOCK: is guest $NAME running (vm-images/run-guest.sh)?" >&2; exit 2; }
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
exec "$PY" - "$SOCK" "$NAME" "$T" "$*" <<'PYEOF'
import base64, os, socket, sys, time
path, name, secs, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rid = "%d.%d" % (os.getpid(), time.time_ns())
deadline = time.monotonic() + secs + 15
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(path)
    s.sendall(b"@@RUN %s %d %s\n" % (rid.encode(), secs, base64.b64encode(cmd.encode())))
    begin, end = b"@@BEGIN " + rid.encode() + b"\n", b"@@END " + rid.encode() + b" "
    buf = b""
    while True:
        i = buf.find(begin)
        j = buf.find(end, i) if i >= 0 else -1
        if j >= 0 and buf.find(b"\n", j) >= 0:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        s.settimeout(left)
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("the agent socket closed")
        buf += chunk
except (TimeoutError, socket.timeout):
    sys.stderr.write("guest-exec.sh: guest %s did not answer within %d s (is it booted? vm-images/guest-wait.sh)\n" % (name, secs + 15))
    sys.exit(124)
except OSError as e:
    sys.stderr.write("guest-exec.sh: guest %s: %s: %s\n" % (name, path, e))
    sys.exit(2)
out = base64.b64decode(b"".join(buf[i + len(begin):j].split()))
rc = int(buf[j + len(end):buf.find(b"\n", j)].strip() or b"255")
sys.stdout.buffer.write(out)
sys.exit(rc)
PYEOF
