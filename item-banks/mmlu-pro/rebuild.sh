#!/usr/bin/env bash
# Rebuilds the shipped MMLU-Pro bank and its calibration from their sources,
# byte for byte:
#   item-banks/mmlu-pro/items.jsonl.gz     the 12,032 test-set items
#   calibration/mmlu-pro/runs.csv.gz       the 22 recorded runs (a copy)
#   calibration/mmlu-pro/v1.json           2PL calibration on those runs
#   calibration/mmlu-pro/v1.link.json      its error model (score links
#                                          fitted by leave-one-model-out)
#
# Usage (from the repository root):
#   bash item-banks/mmlu-pro/rebuild.sh SOURCE_DIR [OUT_ROOT]
# SOURCE_DIR holds items.jsonl.gz (MMLU-Pro's test split as JSON Lines:
# question_id, question, options, answer, category) and responses.csv.gz
# (model,item_id,correct,pred). OUT_ROOT (default: the repository root)
# receives item-banks/mmlu-pro/ and calibration/mmlu-pro/.
#
# When SOURCE_DIR also holds validation.jsonl or validation.jsonl.gz
# (MMLU-Pro's validation split, with cot_content), the bank gets its worked
# examples (few-shot.jsonl) and the 5-shot prompt becomes its prompt.toml:
# exams then ask under the format the calibration's runs were answered under.
set -euo pipefail
cd "$(dirname "$0")/../.."

SRC="${1:?usage: rebuild.sh SOURCE_DIR [OUT_ROOT]}"
OUT="${2:-.}"
FS="${FANGSHENG:-target/release/fangsheng}"
[ -x "$FS" ] || cargo build --release -q -p fangsheng
# Dates in the provenance come from here, so the files do not change with
# the day they are rebuilt on (2026-12-07).
export SOURCE_DATE_EPOCH=1796601600

BANK="$OUT/item-banks/mmlu-pro"
CAL="$OUT/calibration/mmlu-pro"
mkdir -p "$BANK" "$CAL"

"$FS" bank import "$SRC/items.jsonl.gz" --id-field question_id --question-field question \
    --choices-field options --answer-field answer --category-field category \
    --dimension general --gzip --force --out "$BANK" > /dev/null
install -m 0644 "$SRC/responses.csv.gz" "$CAL/runs.csv.gz"

VAL=""
for f in "$SRC/validation.jsonl" "$SRC/validation.jsonl.gz"; do
  [ -f "$f" ] && VAL="$f"
done
if [ -n "$VAL" ]; then
  # Each example's chain of thought, without the "A: Let's think step by
  # step." the prompt's question line already ends with, as meta.rationale.
  TMP="$(mktemp -d)"
  zcat -f "$VAL" | sed 's/"cot_content": *"A: Let'\''s think step by step\. */"rationale":"/' \
    > "$TMP/validation.jsonl"
  "$FS" bank import "$TMP/validation.jsonl" --id-field question_id --question-field question \
      --choices-field options --answer-field answer --category-field category --keep rationale \
      --force --out "$TMP/bank" > /dev/null
  install -m 0644 "$TMP/bank/items.jsonl" "$BANK/few-shot.jsonl"
  install -m 0644 item-banks/mmlu-pro/prompt-5shot.toml "$BANK/prompt.toml"
  rm -rf "$TMP"
fi

# Paths recorded in the outputs are relative to OUT_ROOT, the same wherever
# the rebuild runs.
FS_ABS="$(cd "$(dirname "$FS")" && pwd)/$(basename "$FS")"
cd "$OUT"
"$FS_ABS" calibrate -r calibration/mmlu-pro/runs.csv.gz --model 2pl --bank mmlu-pro --version v1 \
    --prompt-format mmlu-pro-cot-5shot --out calibration/mmlu-pro/v1.json -q
"$FS_ABS" evaluate --responses calibration/mmlu-pro/runs.csv.gz --bank item-banks/mmlu-pro \
    --error-model calibration/mmlu-pro/v1.json --out /dev/null -q
