#!/usr/bin/env bash
# Usage: run-all.sh [SECONDS [TARGET...]]
#
# Runs every fuzz target (or the TARGETs named) for SECONDS (default 600) from
# its committed corpus, then minimises the corpus; prints the runs and crashes
# of each. Needs cargo-fuzz (cargo install cargo-fuzz); the stable toolchain is
# enough with RUSTC_BOOTSTRAP=1 (cargo fuzz asks for nightly flags).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(request message nagare_v1_frame upgrade_response resume_offer close)
fi
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
  log=$(mktemp)
  status=ok
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" >"$log" 2>&1 || status=crashed
  runs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1)
  cargo fuzz cmin "$target" "corpus/$target" >/dev/null 2>&1 || true
  echo "$target: $status, ${runs:-no summary} ($(ls "corpus/$target" | wc -l) corpus files after cmin)"
  if [ "$status" = crashed ]; then tail -40 "$log"; fi
  rm -f "$log"
done
