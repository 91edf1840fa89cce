# One way to start the CRM simulator (tests/sim/crmsim), sourced by the
# integration libs (tests/integration/lib), the simulator's own tests
# (tests/sim/testlib.bash) and the chaos scenarios (tests/chaos): a race
# fixed here is fixed for all of them.
#
# crmsim_launch BIN OUT ERR STAMP [crmsim options...]
#   Starts BIN with the options (which name --listen 127.0.0.1:0: the port
#   is the kernel's), stdout to OUT, stderr to ERR (STAMP = stamp: each line
#   prefixed with the wall-clock time, for the chaos harness's timelines;
#   plain: as is). Waits up to 10 s for the "listening 127.0.0.1:PORT" line
#   and sets CRMSIM_PID and CRMSIM_URL. Returns 1 (and says why on stderr)
#   if the simulator exits or never listens; the caller fails or counts it.
crmsim_launch() {
  local bin=$1 out=$2 err=$3 stamp=$4 line i
  shift 4
  # Emptied here, not by the redirection below: that runs in the child, so
  # a previous run's "listening" line could be read before it truncates.
  : >"$out"
  if [ "$stamp" = stamp ]; then
    "$bin" "$@" >"$out" 2> >(while IFS= read -r line; do echo "$EPOCHREALTIME $line"; done >"$err") &
  else
    "$bin" "$@" >"$out" 2>"$err" &
  fi
  CRMSIM_PID=$!
  CRMSIM_URL=
  for ((i = 0; i < 200; i++)); do
    [ -s "$out" ] && break
    if ! kill -0 "$CRMSIM_PID" 2>/dev/null; then
      echo "crmsim exited at start: $(tail -n 3 "$err" 2>/dev/null)" >&2
      return 1
    fi
    sleep 0.05
  done
  line=$(head -n 1 "$out")
  if ! [[ $line =~ ^listening\ 127\.0\.0\.1:[0-9]+$ ]]; then
    echo "crmsim did not start (first stdout line: '$line'): $(tail -n 3 "$err" 2>/dev/null)" >&2
    return 1
  fi
  CRMSIM_URL="http://${line#listening }"
}
