# Disk and clock scenarios. Disk: the state directory on a small tmpfs of
# its own (needs mount(2): root, or skipped saying so). While the database
# cannot be written, pages fail and roll back: no spool file may move to
# done/, no watermark or push cursor may move, the daemon stays up and
# /healthz says why; once space (or write access) returns, the run converges
# to the model. Clock: the daemon under faketime (offset and jumps).

disk_mount() { # SIZE: mounts a tmpfs on $W/state
  mount -t tmpfs -o "size=$1,mode=0755" tmpfs "$W/state" 2>/dev/null
}
disk_umount() { umount "$W/state" 2>/dev/null || umount -l "$W/state" 2>/dev/null || true; }

healthz() { curl -s "http://$ADMIN/healthz"; }

# disk_case NAME BLOCK UNBLOCK: runs with the state blocked by BLOCK, checks
# nothing moved, then UNBLOCK and convergence.
disk_case() {
  local name=$1 block=$2 unblock=$3 done_before wm_before h
  ADMIN="127.0.0.1:$((20000 + RANDOM % 20000))"
  new_world "$name"
  sed -i "s|^\[daemon\]|[daemon]\nadmin_listen = $ADMIN|" "$W/crmsyncd.conf"
  if ! disk_mount 16m; then
    log "$name: SKIPPED: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)"
    finish_world; DISK_SKIPPED=1; return
  fi
  gen $((SEED + 50)) 12 400 300 "$name" mixed
  feed "$W"/inputs/"$name"-0001.jsonl
  start_daemon run
  wait_death_or_quiet 20 || { V=$((V + 1)); }
  $block
  feed "$W"/inputs/*.jsonl 2>/dev/null   # the rest (the first is in done/ already)
  sleep 3
  done_before=$(ls "$W/spool/done" | wc -l)
  wm_before=$(sqlite3 "file:$W/state/state.db?mode=ro" "SELECT pull_watermark FROM cursors" 2>/dev/null)
  sleep 2
  if ! alive; then log "$name: the daemon died while the state was not writable"; V=$((V + 1)); fi
  h=$(healthz)
  if ! grep -qE "state_not_writable|disk_full" <<<"$h"; then
    log "$name: /healthz does not say the state is not writable: $(head -c 200 <<<"$h")"; V=$((V + 1))
  fi
  if [ "$(ls "$W/spool/done" | wc -l)" != "$done_before" ]; then
    log "$name: a spool file moved to done/ while nothing could be committed"; V=$((V + 1))
  fi
  $unblock
  wait_death_or_quiet 60 || { log "$name: no convergence after the state came back"; V=$((V + 1)); KEEP_WORLD=1; }
  h=$(healthz)
  grep -q "state_not_writable" <<<"$h" && { log "$name: /healthz still reports state_not_writable"; V=$((V + 1)); }
  stop_daemon
  check_world
  log "$name: blocked with $done_before file(s) done, watermark ${wm_before:-none}; converged after"
  disk_umount
  finish_world
}

fill_disk() { dd if=/dev/zero of="$W/state/filler" bs=64k 2>/dev/null; true; }
free_disk() { rm -f "$W/state/filler"; }
make_ro() { mount -o remount,ro "$W/state"; }
make_rw() { mount -o remount,rw "$W/state"; }

scenario_disk-full() {
  L=0 D=0 I=0 V=0; DISK_SKIPPED=0
  disk_case disk-full fill_disk free_disk
  [ "$DISK_SKIPPED" = 1 ] && { echo "scenario disk-full: SKIPPED (no tmpfs mount)"; return; }
  summary disk-full 1 0
}

# PENDING: remount,ro of the state tmpfs fails with EBUSY while the daemon
# holds the database open for writing, so this case cannot block the state
# mid-run yet (a FUSE or dm-flakey layer would). Kept for when it can.
scenario_disk-readonly() {
  echo "scenario disk-readonly: PENDING (remount,ro is EBUSY while the daemon writes)"; return
  L=0 D=0 I=0 V=0; DISK_SKIPPED=0
  disk_case disk-readonly make_ro make_rw
  [ "$DISK_SKIPPED" = 1 ] && { echo "scenario disk-readonly: SKIPPED (no tmpfs mount)"; return; }
  summary disk-readonly 1 0
}

# Clock: the spool crash-point scenario and the HubSpot crash scenario with
# the daemon's clock 6 hours ahead (faketime); the model is unchanged.
scenario_clock-offset() {
  local lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
  [ -f "$lib" ] || { echo "scenario clock-offset: SKIPPED (faketime not installed)"; return; }
  # env execs the daemon (same pid, so stop and kill reach it); the faketime
  # command would fork and leave the daemon behind when killed.
  CHAOS_WRAP="env LD_PRELOAD=$lib FAKETIME=+6h" crash_scenario clock-offset mixed $((SEED + 60)) 3 40 30
}
