# Fuzzing from the chaos harness (tests/fuzz/): replay and timed runs.
fuzz_replay() { L=0 D=0 I=0 V=0; echo "scenario fuzz-replay: pending"; }
fuzz_run() { L=0 D=0 I=0 V=0; echo "scenario fuzz-run: pending"; }
