#!/usr/bin/env bash
# Candidate defaults against the current default plan, with the user's own
# command (`fangsheng evaluate`, leave-one-model-out, the cross-validated
# score link): MMLU-Pro (shipped) and, to confirm, four many-model sets of
# $FANGSHENG_SHARED. Their items have no content here: each gets a stub
# bank (one item per id, one dimension, no categories) so that the linked
# rows are fitted.
#
# Usage (from the repository root, after `cargo build --release`):
#   bash lab/scripts/defaults_check.sh OUT_DIR
# Writes OUT_DIR/<data>-<plan>.log (the tables) and prints one line per run:
# data plan k linked_mae linked_coverage linked_width.
set -euo pipefail
OUT="${1:?usage: defaults_check.sh OUT_DIR}"
FS=target/release/fangsheng
D="${FANGSHENG_SHARED:?set FANGSHENG_SHARED to the folder holding data/}/data"
mkdir -p "$OUT/plans" "$OUT/banks"

printf '' > "$OUT/plans/default.toml"
printf '[prior]\nsd = 2.0\n' > "$OUT/plans/prior-sd-2.toml"
printf '[exposure]\nmethod = "a-stratified"\nstrata = 2\n' > "$OUT/plans/a-stratified-2.toml"
printf '[prior]\nsd = 2.0\n\n[exposure]\nmethod = "a-stratified"\nstrata = 2\n' > "$OUT/plans/both.toml"

# A stub bank of the item ids of a long response file (column 2).
stub_bank() {
  local runs="$1" dir="$2"
  mkdir -p "$dir"
  zcat -f "$runs" | tail -n +2 | cut -d, -f2 | sort -u |
    awk '{printf "{\"id\":\"%s\",\"question\":\"stub\",\"answer\":\"x\",\"type\":\"exact\",\"dimension\":\"general\"}\n", $1}' \
      > "$dir/items.jsonl"
}

# data name, response flags, bank, seeds (SETS=... limits the many-model
# sets; SKIP_MMLU=1 leaves MMLU-Pro out)
runs=()
[ "${SKIP_MMLU:-0}" = 1 ] || runs+=("mmlu-pro|--responses calibration/mmlu-pro/runs.csv.gz|item-banks/mmlu-pro|20")
for set in ${SETS:-bfcl crux lawbench swebench-verified}; do
  stub_bank "$D/many-models/$set/responses.csv.gz" "$OUT/banks/$set"
  runs+=("$set|--responses $D/many-models/$set/responses.csv.gz|$OUT/banks/$set|10")
done

for run in "${runs[@]}"; do
  IFS='|' read -r name flags bank seeds <<< "$run"
  for plan in default prior-sd-2 a-stratified-2 both; do
    log="$OUT/$name-$plan.log"
    # shellcheck disable=SC2086
    "$FS" evaluate $flags --bank "$bank" --plan "$OUT/plans/$plan.toml" --seeds "$seeds" \
      --lengths 25,50,100 --out /dev/null 2> "$log"
    grep -E '^\| 2pl \| adaptive \| [0-9]+ \| \(bank\)' "$log" |
      awk -F'|' -v d="$name" -v p="$plan" '{gsub(/ /,""); print d, p, $4, $10, $11, $12}' OFS='\t' |
      tr -s '|' ' '
  done
done
