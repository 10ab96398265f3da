"""Can the calibration models tell which items will misfit on a new model?

In the fold of held-out model m, each other model j has an inner
calibration without m and j (the cache of a run with --inner-link). Its
standardised squared residual on item i at its own whole-run ability,
z2_ij = (x_ij - P_i)^2 / (P_i Q_i), is out of sample; phi_i, their mean over
the inner models, is item i's overdispersion as the fold sees it; infit_i,
sum_j (x_ij - P_ij)^2 / sum_j P_ij Q_ij, the same weighted by each inner
model's information on the item. The script sets both against the held-out
model's own z2_mi (at its whole-run ability on the fold's calibration) over
the items its exams asked: Spearman correlations pooled over the (model,
item) pairs, and the mean own z2 in the lower and upper half of phi (and
of infit) within each fold. Abilities are MAP (N(0, 1) prior, Newton steps).

The inputs come from one lab run with the inner link (from the repository
root; the inner calibrations are cached, 462 of them on MMLU-Pro):

    D=${FANGSHENG_SHARED:-../shared}/data
    target/release/fangsheng-lab loo --responses $D/mmlu-pro/responses.csv.gz \
        --tags $D/mmlu-pro/items.jsonl.gz --id-field question_id --tag-field category \
        --lengths 50 --seeds 20 --cache loo-cache --variants content=category \
        --inner-choice refit --inner-link --out misfit.csv --asked misfit-asked.csv
    python3 lab/scripts/misfit_foresight.py $D/mmlu-pro/responses.csv.gz loo-cache \
        misfit-asked.csv "adaptive content=category" 50

    python3 lab/scripts/misfit_foresight.py RESPONSES.csv.gz CACHE_DIR ASKED.csv METHOD ITEMS

About 30 s on MMLU-Pro once the run is done. Needs numpy
(notebooks/requirements.txt).
"""

import csv
import gzip
import json
import sys
from collections import defaultdict

import numpy as np

GRID = np.linspace(-8.0, 8.0, 3201)


def safe(name):
    return "".join(c if c.isalnum() or c in "-." else "_" for c in name)


def load(path):
    with open(path) as f:
        return {it["id"]: (it["a"], it["b"]) for it in json.load(f)["items"]}


def runs(path):
    by_model = defaultdict(dict)
    with gzip.open(path, "rt") as f:
        for row in csv.DictReader(f):
            score = row["correct"].strip()
            if score not in ("", "NA"):
                by_model[row["model"]][row["item_id"]] = int(float(score))
    return by_model


def z2(params, answers):
    """Each answered item's squared residual and binomial variance at the
    model's MAP ability (N(0, 1) prior, Newton steps)."""
    ids = [i for i in answers if i in params]
    a = np.array([params[i][0] for i in ids])
    b = np.array([params[i][1] for i in ids])
    x = np.array([answers[i] for i in ids], dtype=float)
    theta = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-a * (theta - b)))
        grad = (a * (x - p)).sum() - theta
        hess = -(a * a * p * (1 - p)).sum() - 1.0
        step = grad / hess
        theta -= max(-1.0, min(1.0, step))
        if abs(step) < 1e-10:
            break
    p = np.clip(1.0 / (1.0 + np.exp(-a * (theta - b))), 1e-9, 1 - 1e-9)
    return dict(zip(ids, zip((x - p) ** 2, p * (1 - p))))


def ranks(x):
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    return r


def main():
    responses, cache, asked_path, method, items = sys.argv[1:6]
    items = int(items)
    answers = runs(responses)
    asked = defaultdict(set)
    with open(asked_path) as f:
        for r in csv.DictReader(f):
            if r["method"] == method and int(r["items"]) == items and r["score"] != "":
                asked[r["examinee"]].add(r["item"])
    phis, infits, owns = [], [], []
    gaps = []
    for m in sorted(asked):
        total = defaultdict(float)
        resid = defaultdict(float)
        var = defaultdict(float)
        count = defaultdict(int)
        for j in answers:
            if j == m:
                continue
            params = load(f"{cache}/loo-2pl-inner-{safe(m)}--{safe(j)}.json")
            for i, (r2, v) in z2(params, answers[j]).items():
                total[i] += r2 / v
                resid[i] += r2
                var[i] += v
                count[i] += 1
        own = z2(load(f"{cache}/loo-2pl-{safe(m)}.json"), answers[m])
        its = [i for i in asked[m] if count[i] > 0 and i in own]
        phi = np.array([total[i] / count[i] for i in its])
        infit = np.array([resid[i] / var[i] for i in its])
        mine = np.array([own[i][0] / own[i][1] for i in its])
        low = phi <= np.median(phi)
        low_infit = infit <= np.median(infit)
        gaps.append(
            (m, len(its), mine[low].mean(), mine[~low].mean(), mine[low_infit].mean(), mine[~low_infit].mean())
        )
        phis.extend(phi)
        infits.extend(infit)
        owns.extend(mine)
    phis, infits, owns = np.array(phis), np.array(infits), np.array(owns)
    rho = np.corrcoef(ranks(phis), ranks(owns))[0, 1]
    rho_infit = np.corrcoef(ranks(infits), ranks(owns))[0, 1]
    print("model,asked_items,own_z2_low_phi,own_z2_high_phi,own_z2_low_infit,own_z2_high_infit")
    for g in gaps:
        print(f"{g[0]},{g[1]}," + ",".join(f"{v:.2f}" for v in g[2:]))
    half = lambda k: np.mean([g[k] for g in gaps])
    print(
        f"# {len(phis)} (model, item) pairs: Spearman(phi, own z2) {rho:.3f}, "
        f"Spearman(infit, own z2) {rho_infit:.3f}; mean own z2 over models, "
        f"lower / upper half of phi {half(2):.2f} / {half(3):.2f}, of infit {half(4):.2f} / {half(5):.2f}; "
        f"mean phi {phis.mean():.2f}, mean infit {infits.mean():.2f}, mean own z2 {owns.mean():.2f}"
    )


if __name__ == "__main__":
    main()
