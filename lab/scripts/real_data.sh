#!/usr/bin/env bash
# Real-data calibration figures: time, EM cycles, convergence, and held-out
# prediction of Rasch, 2PL and 3PL on MMLU-Pro (22 models x 12,032 items)
# and ChemBench (22 models x 2,854 items). Results: lab/RESULTS.md.
#
# Usage (from any directory):
#   lab/scripts/real_data.sh
#   SEEDS="1 2 3" MODELS="rasch 2pl 2pl@0.5 2pl@0.3 3pl" lab/scripts/real_data.sh
# Environment:
#   FANGSHENG_SHARED  shared folder holding data/ (default ../shared beside the repository)
#   FANGSHENG_BIN     engine binary to time (default target/release/fangsheng of this
#                     repository, built if missing)
#   SEEDS             held-out split seeds (default "1 2 3 4 5")
#   FRACTION          held-out share of the observed cells (default 0.1)
#   MODELS            models to compare (default "rasch 2pl 3pl"); `2pl@0.5` is a
#                     2PL with --slope-prior-sd 0.5
#
# For each data set and model: one fit on all cells (default settings,
# standard errors included) gives the time, cycles and convergence; then one
# fit per seed on the training cells (--hold-out FRACTION --seed S, without
# standard errors, which do not change predictions) gives the held-out
# log-likelihood per response, accuracy and Brier score, reported as
# mean +- SD over seeds. The SD mostly reflects which cells a seed holds
# out; models are compared on the same splits, so a second table gives each
# model's paired difference in held-out log-likelihood per response from the
# best model (mean +- SD over seeds). Higher log-likelihood and accuracy, lower Brier are
# better. Times are wall-clock seconds of the calibration alone (reading the
# file excluded), as printed by `fangsheng calibrate`; the machine's load
# average is printed with the table because it changes them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHARED=${FANGSHENG_SHARED:-$ROOT/../shared}
BIN=${FANGSHENG_BIN:-$ROOT/target/release/fangsheng}
SEEDS=${SEEDS:-1 2 3 4 5}
FRACTION=${FRACTION:-0.1}
MODELS=${MODELS:-rasch 2pl 3pl}

if [[ ! -x $BIN ]]; then
    (cd "$ROOT" && cargo build --release -p fangsheng --bin fangsheng)
fi
for f in "$SHARED/data/mmlu-pro/responses.csv.gz" \
    "$SHARED/data/chembench/responses_wide_items_by_model.csv"; do
    [[ -f $f ]] || { echo "missing $f (set FANGSHENG_SHARED)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name|flags
datasets=(
    "mmlu-pro|-r $SHARED/data/mmlu-pro/responses.csv.gz"
    "chembench|-r $SHARED/data/chembench/responses_wide_items_by_model.csv --layout transposed"
)

# Reads one `fangsheng calibrate` stderr log; prints
# "seconds cycles converged ll acc brier" (the last three "-" without --hold-out).
parse() {
    awk '
        /^calibrated / {
            for (i = 1; i <= NF; i++) {
                if ($i == "in") { s = $(i + 1); sub(/s:$/, "", s) }
                if ($i == "after") cycles = $(i + 1)
            }
            conv = ($0 ~ /NOT converged/) ? "no" : "yes"
        }
        /^held out / {
            for (i = 1; i <= NF; i++) {
                if ($i == "response") { ll = $(i + 1); sub(/,$/, "", ll) }
                if ($i == "accuracy") { acc = $(i + 1); sub(/,$/, "", acc) }
                if ($i == "Brier") brier = $(i + 1)
            }
        }
        END {
            if (ll == "") { ll = "-"; acc = "-"; brier = "-" }
            print s, cycles, conv, ll, acc, brier
        }' "$1"
}

printf '# fangsheng real-data calibration, %s, held-out fraction %s, seeds %s\n' \
    "$("$BIN" --version 2>/dev/null || echo fangsheng)" "$FRACTION" "$SEEDS"
printf '# load average at start: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-6s %8s %7s %5s | %-20s %-17s %-17s %s\n' \
    data model time_s cycles conv "heldout_ll/resp" accuracy brier "holdout_cycles(conv)"

for entry in "${datasets[@]}"; do
    name=${entry%%|*}
    # shellcheck disable=SC2206 # flags are split on purpose
    flags=(${entry#*|})
    for model in $MODELS; do
        # `2pl@0.5` = 2PL with the slope prior ln a ~ N(0, 0.5^2).
        fit=(--model "${model%@*}")
        [[ $model == *@* ]] && fit+=(--slope-prior-sd "${model#*@}")
        "$BIN" calibrate "${flags[@]}" "${fit[@]}" -q \
            -o "$tmp/$name-$model.json" 2> "$tmp/full.log" || { cat "$tmp/full.log" >&2; exit 1; }
        read -r secs cycles conv _ <<< "$(parse "$tmp/full.log")"
        : > "$tmp/heldout"
        for seed in $SEEDS; do
            "$BIN" calibrate "${flags[@]}" "${fit[@]}" -q --no-se \
                --hold-out "$FRACTION" --seed "$seed" \
                -o "$tmp/$name-$model-$seed.json" 2> "$tmp/h.log" || { cat "$tmp/h.log" >&2; exit 1; }
            parse "$tmp/h.log" >> "$tmp/heldout"
        done
        awk -v m="$model" '{ print m, NR, $4 }' "$tmp/heldout" >> "$tmp/$name.paired"
        summary=$(awk '
            function sd(s, q, n) { return n > 1 ? sqrt((q - s * s / n) / (n - 1)) : 0 }
            {
                n++; ll += $4; ll2 += $4 * $4; a += $5; a2 += $5 * $5; b += $6; b2 += $6 * $6
                cyc = cyc (n > 1 ? "," : "") $2; if ($3 != "yes") nc++
            }
            END {
                printf "%.4f +- %.4f    %.4f +- %.4f   %.4f +- %.4f   %s(%s)",
                    ll / n, sd(ll, ll2, n), a / n, sd(a, a2, n), b / n, sd(b, b2, n),
                    cyc, nc ? nc " not converged" : "all"
            }' "$tmp/heldout")
        printf '%-10s %-6s %8s %7s %5s | %s\n' "$name" "$model" "$secs" "$cycles" "$conv" "$summary"
    done
done

printf '\n# paired held-out log-likelihood per response minus the best model'"'"'s, same splits\n'
printf '%-10s %-6s %s\n' data model "difference (mean +- SD over seeds)"
for entry in "${datasets[@]}"; do
    name=${entry%%|*}
    awk -v data="$name" '
        { ll[$1, $2] = $3; sum[$1] += $3; if (!($1 in seen)) { seen[$1] = 1; order[++nm] = $1 }
          if ($2 > ns) ns = $2 }
        END {
            best = order[1]
            for (i = 2; i <= nm; i++) if (sum[order[i]] > sum[best]) best = order[i]
            for (i = 1; i <= nm; i++) {
                m = order[i]; s = 0; q = 0
                for (k = 1; k <= ns; k++) { d = ll[m, k] - ll[best, k]; s += d; q += d * d }
                sd = ns > 1 ? sqrt((q - s * s / ns) / (ns - 1)) : 0
                printf "%-10s %-6s %+.4f +- %.4f%s\n", data, m, s / ns, sd, m == best ? " (best)" : ""
            }
        }' "$tmp/$name.paired"
done
printf '# load average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
