"""Where a held-out model's exam error comes from: the items it met, or the
model's fit over the whole bank.

For each held-out model of a leave-one-out run (standard model, no
`--no-answer-col`), with its fold's cached 2PL calibration:

* theta_F, its EAP ability from its whole run (N(0, 1) prior, fine grid);
* floor = S(theta_F) - observed, with S(theta) the mean of P_j(theta) over
  the fold's bank: what the model gets wrong with every answer known;
* luck of one exam = S'(theta_F) * sum_j a_j r_j / (sum_j a_j^2 P_j Q_j + 1),
  r_j = x_j - P_j(theta_F) over the exam's asked items (from `--asked`):
  the one-step shift of the ability that those answers imply, around the
  whole run's, mapped to the bank score (the 1 is the N(0, 1) prior's
  precision).

It prints, per model, the mean over seeds of the exam's error (predicted -
observed, from `--details`), of luck and of the floor, and how much of the
persistent error (the per-model means) luck + floor explain. Last, each
exam's ability step in units of the SD it would have if the asked answers
followed the 2PL at theta_F (`sqrt(I) / (I + 1)`, I the asked items'
information): RMS 1 and 5% beyond +-1.96 when the 2PL fits those answers.

The inputs come from one lab run (from the repository root):

    D=${FANGSHENG_SHARED:-../shared}/data
    target/release/fangsheng-lab loo --responses $D/mmlu-pro/responses.csv.gz \
        --tags $D/mmlu-pro/items.jsonl.gz --id-field question_id --tag-field category \
        --lengths 50 --seeds 20 --cache loo-cache --variants content=category \
        --out luck.csv --details luck-details.csv --asked luck-asked.csv
    python3 lab/scripts/luck_split.py $D/mmlu-pro/responses.csv.gz loo-cache \
        luck-details.csv luck-asked.csv "adaptive content=category" 50

    python3 lab/scripts/luck_split.py RESPONSES.csv.gz CACHE_DIR DETAILS.csv ASKED.csv METHOD ITEMS [LABEL]

LABEL is the folds' cache label: `2pl` (default), or `2pl-slope0.5` for a
run with `--slope-prior-sd 0.5`. 25-50 s per row on MMLU-Pro.

Needs numpy (notebooks/requirements.txt).
"""

import csv
import gzip
import json
import sys
from collections import defaultdict

import numpy as np

GRID = np.linspace(-8.0, 8.0, 3201)


def fold_params(cache, model, label):
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in model)
    with open(f"{cache}/loo-{label}-{safe}.json") as f:
        doc = json.load(f)
    return {it["id"]: (it["a"], it["b"]) for it in doc["items"]}


def runs(path):
    by_model = defaultdict(dict)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        for row in csv.DictReader(f):
            score = row["correct"].strip()
            if score not in ("", "NA"):
                by_model[row["model"]][row["item_id"]] = int(float(score))
    return by_model


def eap(a, b, x):
    z = a[:, None] * (GRID[None, :] - b[:, None])
    log_lik = (x[:, None] * -np.logaddexp(0, -z) + (1 - x[:, None]) * -np.logaddexp(0, z)).sum(0)
    lp = -0.5 * GRID**2 + log_lik
    w = np.exp(lp - lp.max())
    w /= w.sum()
    return float((w * GRID).sum())


def main():
    responses, cache, details_path, asked_path, method, items = sys.argv[1:7]
    # The fold calibrations' cache label: 2pl, or 2pl-slope0.5 for
    # --slope-prior-sd 0.5.
    label = sys.argv[7] if len(sys.argv) > 7 else "2pl"
    items = int(items)
    answers = runs(responses)
    errors = defaultdict(list)
    observed = {}
    with open(details_path) as f:
        for d in csv.DictReader(f):
            if d["method"] == method and int(d["items"]) == items:
                errors[d["examinee"]].append(float(d["predicted"]) - float(d["observed"]))
                observed[d["examinee"]] = float(d["observed"])
    exams = defaultdict(lambda: defaultdict(list))
    with open(asked_path) as f:
        for r in csv.DictReader(f):
            if r["method"] == method and int(r["items"]) == items and r["score"] != "":
                exams[r["examinee"]][r["seed"]].append((r["item"], int(r["score"])))
    rows = []
    zs = []
    for model in sorted(errors):
        params = fold_params(cache, model, label)
        ids = [i for i in answers[model] if i in params]
        a = np.array([params[i][0] for i in ids])
        b = np.array([params[i][1] for i in ids])
        x = np.array([answers[model][i] for i in ids], dtype=float)
        theta = eap(a, b, x)
        bank = np.array(list(params.values()))
        p_bank = 1.0 / (1.0 + np.exp(-bank[:, 0] * (theta - bank[:, 1])))
        slope = float((bank[:, 0] * p_bank * (1 - p_bank)).mean())
        floor = float(p_bank.mean()) - observed[model]
        lucks = []
        for seed, asked in exams[model].items():
            aa = np.array([params[i][0] for i, _ in asked])
            bb = np.array([params[i][1] for i, _ in asked])
            xx = np.array([s for _, s in asked], dtype=float)
            p = 1.0 / (1.0 + np.exp(-aa * (theta - bb)))
            info = (aa**2 * p * (1 - p)).sum()
            shift = (aa * (xx - p)).sum() / (info + 1.0)
            lucks.append(slope * shift)
            # The same step's SD if the answers followed the 2PL at theta_F.
            zs.append(shift / (np.sqrt(info) / (info + 1.0)))
        rows.append((model, np.mean(errors[model]), np.mean(lucks), floor))
    print("model,error,luck,floor")
    for m, e, l, fl in rows:
        print(f"{m},{100 * e:.2f},{100 * l:.2f},{100 * fl:.2f}")
    e = np.array([r[1] for r in rows])
    explained = np.array([r[2] + r[3] for r in rows])
    rest = e - explained
    print(
        f"# persistent error (RMS over models) {100 * np.sqrt((e**2).mean()):.2f}; "
        f"luck + floor {100 * np.sqrt((explained**2).mean()):.2f}; "
        f"rest {100 * np.sqrt((rest**2).mean()):.2f}; "
        f"correlation {np.corrcoef(e, explained)[0, 1]:.3f}; "
        f"luck alone RMS {100 * np.sqrt((np.array([r[2] for r in rows])**2).mean()):.2f}, "
        f"floor alone RMS {100 * np.sqrt((np.array([r[3] for r in rows])**2).mean()):.2f}"
    )
    zs = np.array(zs)
    print(
        f"# luck in units of its 2PL SD over {len(zs)} exams: RMS {np.sqrt((zs**2).mean()):.2f}, "
        f"share beyond +-1.96 {np.mean(np.abs(zs) > 1.96):.3f} (1.00 and 0.050 if the answers "
        "followed the 2PL at theta_F)"
    )


if __name__ == "__main__":
    main()
