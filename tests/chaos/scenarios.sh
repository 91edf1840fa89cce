# Scenarios of the chaos harness, sourced by run.sh after lib.sh. Each one
# sets L D I V, prints its summary line and adds to TOTAL_BAD.

# send_signal_at SIG K: sends SIG to the daemon once it reached K crash points.
send_signal_at() {
  local sig=$1 k=$2 pid=$DPID world=$W
  (
    while kill -0 "$pid" 2>/dev/null; do
      c=$( [ -f "$world/crash.log" ] && wc -l < "$world/crash.log" || echo 0)
      if [ "$c" -ge "$k" ]; then kill -"$sig" "$pid" 2>/dev/null; exit 0; fi
      sleep 0.003
    done
  ) &
  SIGNALLER=$!
}

# The crash-point N of one run: SIGKILL at the N-th boundary, then the
# unmodified daemon until quiescence, then the checker. Returns 1 when the
# run completed without reaching N (the last N), 0 otherwise.
crash_run() { # TEMPLATE_INPUTS NAME N SIG
  local tpl=$1 name=$2 n=$3 sig=$4 rc=0 completed=1
  new_world "$name-$n"
  cp "$tpl"/*.jsonl "$W/inputs/"; cp "$tpl/../secrets" "$W/secrets" 2>/dev/null || true
  feed "$W"/inputs/*.jsonl
  start_daemon "crash-at-$n" "$n"
  SIGNALLER=
  if [ -n "$sig" ]; then send_signal_at "$sig" $(( n > 3 ? n - 2 : 1 )); fi
  wait_death_or_quiet 30 || rc=$?
  if [ -n "$SIGNALLER" ]; then kill "$SIGNALLER" 2>/dev/null; wait "$SIGNALLER" 2>/dev/null; fi
  case $rc in
    0) stop_daemon
       # Quiescent without dying: did it get to N at all?
       if [ "$(crash_count)" -ge "$n" ]; then completed=1; else completed=0; fi
       # The stop may itself have reached N (a commit while draining): then
       # the restart below is what must converge.
       if ! alive && [ "$(crash_count)" -ge "$n" ]; then run_until_quiet "after-$n" || V=$((V + 1)); fi ;;
    1) run_until_quiet "after-$n" || V=$((V + 1)) ;;
    *) log "$(basename "$W"): crash-at-$n neither died nor became quiescent"; stop_daemon
       V=$((V + 1)); KEEP_WORLD=1 ;;
  esac
  check_world
  finish_world
  return $((1 - completed))  # 0: N was reached, go on; 1: the run completed
}

# crash_scenario NAME MODE SEED FILES LINES MEMBERS [SIGNAL]
crash_scenario() {
  local name=$1 mode=$2 seed=$3 files=$4 lines=$5 members=$6 sig=${7:-}
  local runs=0 total n tpl
  L=0 D=0 I=0 V=0
  tpl=$(mktemp -d "${CHAOS_TMP:-/tmp}/chaos-$name-inputs.XXXXXX")
  mkdir -p "$tpl/inputs"
  : > "$tpl/secrets"; W=$tpl; gen "$seed" "$files" "$lines" "$members" "$name" "$mode"

  # Calibration: one run without a crash counts the crash points.
  new_world "$name-cal"
  cp "$tpl"/inputs/*.jsonl "$W/inputs/"; cp "$tpl/secrets" "$W/secrets"
  feed "$W"/inputs/*.jsonl
  start_daemon cal
  SIGNALLER=
  if [ -n "$sig" ]; then send_signal_at "$sig" 10; fi
  if ! wait_death_or_quiet 60; then V=$((V + 1)); KEEP_WORLD=1; fi
  [ -n "$SIGNALLER" ] && { kill "$SIGNALLER" 2>/dev/null; wait "$SIGNALLER" 2>/dev/null; }
  stop_daemon
  total=$(crash_count)
  check_world; finish_world; runs=1

  if [ "$MODE" = soak ]; then
    n=1
    while :; do
      runs=$((runs + 1))
      crash_run "$tpl/inputs" "$name" "$n" "$sig" || break
      n=$((n + 1))
      [ $n -le $((total * 3 + 50)) ] || { log "$name: no run completed up to N=$n"; V=$((V + 1)); break; }
    done
    total=$(( n > total ? n : total ))
  else
    # quick: a sample of the crash points, spread over the run, seeded.
    local k
    RANDOM=$seed
    for k in $(seq 1 "${QUICK_SAMPLE:-6}"); do
      n=$(( (k - 1) * total / ${QUICK_SAMPLE:-6} + 1 + RANDOM % (total / ${QUICK_SAMPLE:-6} + 1) ))
      [ "$n" -le "$total" ] || n=$total
      runs=$((runs + 1))
      crash_run "$tpl/inputs" "$name" "$n" "$sig" || true
    done
  fi
  rm -rf "$tpl"
  summary "$name" "$runs" "$total"
}

# Random kills under sustained spool load (seeded): SIGKILL at random times,
# SIGSTOP/SIGCONT pauses, and a second daemon on the same state directory
# while the first holds it (it must refuse).
random_kills() { # NAME SEED KILLS
  local name=$1 seed=$2 kills=$3 files i f next=0 runs=0 refusals=0 pauses=0
  local t0=$SECONDS
  L=0 D=0 I=0 V=0
  RANDOM=$seed
  new_world "$name"
  files=$(( kills / 4 + 8 ))
  gen "$seed" "$files" 30 200 "$name" mixed
  mapfile -t f < <(ls "$W"/inputs/*.jsonl)
  for ((i = 1; i <= kills; i++)); do
    # Keep the spool fed: a file or two per cycle, in name order.
    if [ $next -lt ${#f[@]} ]; then feed "${f[$next]}"; next=$((next + 1)); fi
    if [ $((RANDOM % 2)) = 0 ] && [ $next -lt ${#f[@]} ]; then feed "${f[$next]}"; next=$((next + 1)); fi
    start_daemon "run"
    sleep "0.0$((RANDOM % 90 + 10))"
    if [ $((RANDOM % 6)) = 0 ] && alive; then
      # Paused, then a second daemon on the same state: it must refuse.
      kill -STOP "$DPID"; pauses=$((pauses + 1))
      # Only once the first one holds the lock (it may be stopped before).
      if [ $((RANDOM % 3)) = 0 ] && holds_lock; then
        if timeout 10 "$CRMSYNCD" -c "$W/crmsyncd.conf" >>"$W/logs/second.log" 2>&1; then
          log "$name: a second daemon started on a held state directory"; V=$((V + 1))
        elif ! tail -3 "$W/logs/second.log" | grep -q "another crmsyncd"; then
          log "$name: the second daemon failed without saying why"; V=$((V + 1))
        else
          refusals=$((refusals + 1))
        fi
      fi
      sleep "0.0$((RANDOM % 50 + 10))"
      kill -CONT "$DPID"
      sleep "0.0$((RANDOM % 40 + 10))"
    fi
    kill -KILL "$DPID" 2>/dev/null
    while kill -0 "$DPID" 2>/dev/null; do sleep 0.005; done  # lock released
    runs=$((runs + 1))
    if [ $((runs % 1000)) = 0 ]; then
      log "$name: $runs of $kills kills, $pauses pauses, $refusals refusals, $((SECONDS - t0)) s"
    fi
    if [ -n "${SOAK_DEADLINE:-}" ] && [ $SECONDS -ge "$SOAK_DEADLINE" ]; then break; fi
  done
  while [ $next -lt ${#f[@]} ]; do feed "${f[$next]}"; next=$((next + 1)); done
  # One more refusal for sure: the final daemon holds the lock.
  start_daemon final
  for i in $(seq 1 200); do holds_lock && break; sleep 0.02; done
  if timeout 10 "$CRMSYNCD" -c "$W/crmsyncd.conf" >>"$W/logs/second.log" 2>&1 ||
     ! tail -3 "$W/logs/second.log" | grep -q "another crmsyncd"; then
    log "$name: a second daemon did not refuse a held state directory"; V=$((V + 1))
  else
    refusals=$((refusals + 1))
  fi
  # A long soak leaves thousands of files behind: more time to take them.
  wait_death_or_quiet $((QUIESCE_TIMEOUT + kills / 20)) || { log "$name: no quiescence after the kills"; V=$((V + 1)); KEEP_WORLD=1; }
  stop_daemon
  check_world
  log "$name: $runs kills, $pauses pauses, $refusals second-daemon refusals, $((SECONDS - t0)) s"
  finish_world
  summary "$name" "$runs" 0
}
