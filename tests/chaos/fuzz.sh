# Fuzzing from the chaos harness (tests/fuzz/, README.md there and here).
FUZZ_BUILD=${FUZZ_BUILD:-$SRC_DIR/build-fuzz}
FUZZ_CORPUS="$SRC_DIR/tests/fuzz/corpus"

# Builds the fuzzers with clang (ASan+UBSan+libFuzzer) in FUZZ_BUILD. Returns
# 1 (and says why) when clang or its fuzzer runtime is missing.
fuzz_build() {
  command -v clang >/dev/null || { log "fuzz: clang is not installed (.ci/deps)"; return 1; }
  if [ ! -f "$FUZZ_BUILD/CMakeCache.txt" ]; then
    CC=clang cmake -S "$SRC_DIR" -B "$FUZZ_BUILD" -DCRMSYNC_FUZZ=ON -DCRMSYNC_TESTS=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$CHAOS_TMP_LOG" 2>&1 ||
      { tail -20 "$CHAOS_TMP_LOG" >&2; return 1; }
  fi
  cmake --build "$FUZZ_BUILD" -j"${CHAOS_JOBS:-2}" --target fuzzers >"$CHAOS_TMP_LOG" 2>&1 ||
    { tail -30 "$CHAOS_TMP_LOG" >&2; return 1; }
}

fuzz_targets() { ls "$FUZZ_CORPUS"; }

# Replay: every fuzzer over its whole corpus, no mutation. A crash, a leak
# or a sanitizer report is an integrity failure of the parser.
fuzz_replay() {
  local t runs=0 files=0 n
  L=0 D=0 I=0 V=0
  CHAOS_TMP_LOG=$(mktemp)
  if ! fuzz_build; then I=1; summary fuzz-replay 0 0; rm -f "$CHAOS_TMP_LOG"; return; fi
  for t in $(fuzz_targets); do
    n=$(ls "$FUZZ_CORPUS/$t" | wc -l)
    files=$((files + n))
    runs=$((runs + 1))
    if ! "$FUZZ_BUILD/tests/fuzz/fuzz_$t" -runs=0 "$FUZZ_CORPUS/$t" >"$CHAOS_TMP_LOG" 2>&1; then
      log "fuzz_$t fails on its corpus:"; grep -E "ERROR|SUMMARY|Test unit|runtime error" "$CHAOS_TMP_LOG" | head -5 >&2
      I=$((I + 1))
    fi
  done
  log "fuzz-replay: $runs fuzzers, $files corpus inputs"
  rm -f "$CHAOS_TMP_LOG"
  summary fuzz-replay "$runs" 0
}

# Timed fuzzing: the time split over the fuzzers, new inputs kept in a work
# corpus under FUZZ_BUILD (copy the interesting ones to tests/fuzz/corpus/),
# crashes written there as crash-*.
fuzz_run() { # SECONDS
  local total=$1 t per n=0 runs=0
  L=0 D=0 I=0 V=0
  CHAOS_TMP_LOG=$(mktemp)
  if ! fuzz_build; then I=1; summary fuzz-run 0 0; rm -f "$CHAOS_TMP_LOG"; return; fi
  for t in $(fuzz_targets); do n=$((n + 1)); done
  per=$(( total / n )); [ $per -ge 5 ] || per=5
  for t in $(fuzz_targets); do
    mkdir -p "$FUZZ_BUILD/work/$t"
    runs=$((runs + 1))
    if ! "$FUZZ_BUILD/tests/fuzz/fuzz_$t" -max_total_time="$per" -print_final_stats=1 \
         -artifact_prefix="$FUZZ_BUILD/work/$t-" "$FUZZ_BUILD/work/$t" "$FUZZ_CORPUS/$t" \
         >"$FUZZ_BUILD/work/$t.log" 2>&1; then
      log "fuzz_$t found a crash: see $FUZZ_BUILD/work/$t.log and $FUZZ_BUILD/work/$t-crash-*"
      I=$((I + 1))
    fi
    log "fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$FUZZ_BUILD/work/$t.log" | awk '{print $2}') executions in ${per}s"
  done
  rm -f "$CHAOS_TMP_LOG"
  summary fuzz-run "$runs" 0
}
