"""Parametric twin of a response file: the same examinees answer the same
items, correct with the probability a fitted 2PL gives them.

    fangsheng calibrate -r RESPONSES --model 2pl -o full.json
    fangsheng score --params full.json -r RESPONSES --method eap -o thetas.csv
    python3 benches/parametric_twin.py RESPONSES full.json thetas.csv SEED twin.csv

RESPONSES is a long CSV (gzip allowed) with columns model, item_id, correct
(MMLU-Pro's layout); blank or NA cells stay unanswered. Used for the
diagnostic in benches/LOO.md (session 8): on the twin the 2PL is true, so
leave-one-out errors there are what calibration on few models costs.
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
    with opener(responses, "rt") as src, open(out_path, "w", newline="") as dst:
        out = csv.writer(dst)
        out.writerow(["model", "item_id", "correct"])
        for r in csv.DictReader(src):
            if r["correct"] in ("", "NA"):
                continue
            a, b = items[r["item_id"]]
            p = 1.0 / (1.0 + math.exp(-a * (theta[r["model"]] - b)))
            out.writerow([r["model"], r["item_id"], int(rng.random() < p)])
            written += 1
    print(f"{written} responses written to {out_path}")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
