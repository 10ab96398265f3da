"""Independent check of the two-part model's full-run predictions.

Recomputes, with numpy alone, the `irt-full-run` rows of a leave-one-out run
made with `--no-answer-col pred`: for each held-out model, the EAP
posteriors of theta (its answered responses, on the fold's `2pl-answered`
calibration) and phi (its no-answer indicators, on the fold's
`2pl-noanswer` calibration), both with N(0, 1) priors on a fine grid, then
mean_i (1 - E[Q_i(phi)]) E[P_i(theta)] over every item of the fold, and
prints the largest difference from the lab's figures.

From the repository root:

    D=${FANGSHENG_SHARED:-../shared}/data
    target/release/fangsheng-lab loo --responses $D/mmlu-pro/responses.csv.gz \
        --tags $D/mmlu-pro/items.jsonl.gz --id-field question_id --tag-field category \
        --cache loo-cache --variants content=category --no-answer-col pred \
        --out two.csv --details two-details.csv
    python3 lab/scripts/two_part_check.py $D/mmlu-pro/responses.csv.gz loo-cache two-details.csv

    python3 lab/scripts/two_part_check.py RESPONSES.csv.gz CACHE_DIR DETAILS.csv

RESPONSES is MMLU-Pro's responses.csv.gz (it needs the `pred` column),
CACHE_DIR the run's --cache and DETAILS its --details file. Needs numpy
(notebooks/requirements.txt).
"""

import csv
import gzip
import json
import sys

import numpy as np

GRID = np.linspace(-8.0, 8.0, 3201)


def posterior(a, b, x):
    """Normalised EAP weights on GRID of a 2PL pattern under N(0, 1)."""
    z = a[:, None] * (GRID[None, :] - b[:, None])
    log_lik = (x[:, None] * -np.logaddexp(0, -z) + (1 - x[:, None]) * -np.logaddexp(0, z)).sum(0)
    lp = -0.5 * GRID**2 + log_lik
    w = np.exp(lp - lp.max())
    return w / w.sum()


def curves(a, b):
    return 1.0 / (1.0 + np.exp(-a[:, None] * (GRID[None, :] - b[:, None])))


def params(path):
    with open(path) as f:
        items = json.load(f)["items"]
    return {it["id"]: (it["a"], it["b"]) for it in items}


def safe(name):
    return "".join(c if c.isalnum() or c in "-." else "_" for c in name)


def main(responses, cache, details):
    runs = {}
    with gzip.open(responses, "rt") as f:
        for row in csv.DictReader(f):
            runs.setdefault(row["model"], []).append(
                (row["item_id"], int(row["correct"]), int(row["pred"] == ""))
            )
    with open(details) as f:
        floor = {
            r["examinee"]: float(r["predicted"])
            for r in csv.DictReader(f)
            if r["method"] == "irt-full-run"
        }
    worst = 0.0
    for model in sorted(floor):
        answered = params(f"{cache}/loo-2pl-answered-{safe(model)}.json")
        flags = params(f"{cache}/loo-2pl-noanswer-{safe(model)}.json")
        own = runs[model]
        ans = [(i, x) for i, x, none in own if not none and i in answered]
        wt = posterior(
            np.array([answered[i][0] for i, _ in ans]),
            np.array([answered[i][1] for i, _ in ans]),
            np.array([x for _, x in ans], dtype=float),
        )
        ind = [(i, none) for i, _, none in own if i in flags]
        wp = posterior(
            np.array([flags[i][0] for i, _ in ind]),
            np.array([flags[i][1] for i, _ in ind]),
            np.array([n for _, n in ind], dtype=float),
        )
        ids = list(flags)
        eq = curves(np.array([flags[i][0] for i in ids]), np.array([flags[i][1] for i in ids])) @ wp
        ep = np.zeros(len(ids))
        has = [k for k, i in enumerate(ids) if i in answered]
        ep[has] = curves(
            np.array([answered[ids[k]][0] for k in has]),
            np.array([answered[ids[k]][1] for k in has]),
        ) @ wt
        predicted = float(((1.0 - eq) * ep).mean())
        worst = max(worst, abs(predicted - floor[model]))
        print(f"{model:30s} numpy {predicted:.6f}  fangsheng {floor[model]:.6f}")
    print(f"largest difference {worst:.2e}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
