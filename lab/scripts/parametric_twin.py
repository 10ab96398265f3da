"""Parametric twin of a response file: the same examinees answer the same
items, correct with the probability a fitted 2PL gives them.

The 2PL fitted to every examinee is taken as the truth and each
examinee's EAP ability on it as its true ability; each examinee answers
exactly the items it answered in the source file (blank or NA cells stay
unanswered), correct with its 2PL probability. On the twin the 2PL is
exactly true, so leave-one-out errors there are what calibration on few
examinees costs, and the difference from the real file's is misfit.

From the repository root (engine binary: cargo build --release -p fangsheng):

    D=${FANGSHENG_SHARED:-../shared}/data
    target/release/fangsheng calibrate -r $D/mmlu-pro/responses.csv.gz --model 2pl -o full.json
    target/release/fangsheng score --params full.json -r $D/mmlu-pro/responses.csv.gz --method eap -o thetas.csv
    python3 lab/scripts/parametric_twin.py $D/mmlu-pro/responses.csv.gz full.json thetas.csv 1 twin.csv

    python3 lab/scripts/parametric_twin.py RESPONSES PARAMS THETAS SEED OUT.csv

RESPONSES is a long CSV (gzip allowed) whose first three columns are
examinee, item and score (MMLU-Pro's model,item_id,correct); OUT.csv has
the same three column names, so the twin replaces the source file in any
lab command (`--responses twin.csv`).
"""

import csv
import gzip
import json
import math
import random
import sys


def main(responses, params, thetas, seed, out_path):
    rng = random.Random(int(seed))
    items = {it["id"]: (it["a"], it["b"]) for it in json.load(open(params))["items"]}
    theta = {r["examinee"]: float(r["theta"]) for r in csv.DictReader(open(thetas))}
    opener = gzip.open if responses.endswith(".gz") else open
    written = 0
    with opener(responses, "rt", newline="") as src, open(out_path, "w", newline="") as dst:
        rows = csv.reader(src)
        header = next(rows)
        out = csv.writer(dst)
        out.writerow(header[:3])
        for r in rows:
            examinee, item, score = r[:3]
            if score.strip() in ("", "NA"):
                continue
            a, b = items[item]
            p = 1.0 / (1.0 + math.exp(-a * (theta[examinee] - b)))
            out.writerow([examinee, item, int(rng.random() < p)])
            written += 1
    print(f"{written} responses written to {out_path}")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
