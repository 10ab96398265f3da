"""Can the calibration models tell which items will misfit on a new model?
(benches/LOO.md, session 11.)

In the fold of held-out model m, each other model j has an inner
calibration without m and j (the cache of a run with --inner-link). Its
standardised squared residual on item i at its own whole-run EAP ability,
z2_ij = (x_ij - P_i)^2 / (P_i Q_i), is out of sample; phi_i, their mean over
the inner models, is item i's overdispersion as the fold sees it. The
script sets phi_i against the held-out model's own z2_mi (at its whole-run
ability on the fold's calibration) over the items its exams asked.

    python benches/misfit_foresight.py RESPONSES.csv.gz CACHE_DIR ASKED.csv METHOD ITEMS

Needs numpy (notebooks/requirements.txt).
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
    """Each answered item's standardised squared residual at the EAP ability."""
    ids = [i for i in answers if i in params]
    a = np.array([params[i][0] for i in ids])
    b = np.array([params[i][1] for i in ids])
    x = np.array([answers[i] for i in ids], dtype=float)
    z = a[:, None] * (GRID[None, :] - b[:, None])
    log_lik = (x[:, None] * -np.logaddexp(0, -z) + (1 - x[:, None]) * -np.logaddexp(0, z)).sum(0)
    lp = -0.5 * GRID**2 + log_lik
    w = np.exp(lp - lp.max())
    theta = float((w * GRID).sum() / w.sum())
    p = np.clip(1.0 / (1.0 + np.exp(-a * (theta - b))), 1e-9, 1 - 1e-9)
    return dict(zip(ids, (x - p) ** 2 / (p * (1 - p))))


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
    phis, owns = [], []
    gaps = []
    for m in sorted(asked):
        total = defaultdict(float)
        count = defaultdict(int)
        for j in answers:
            if j == m:
                continue
            params = load(f"{cache}/loo-2pl-inner-{safe(m)}--{safe(j)}.json")
            for i, v in z2(params, answers[j]).items():
                total[i] += v
                count[i] += 1
        own = z2(load(f"{cache}/loo-2pl-{safe(m)}.json"), answers[m])
        its = [i for i in asked[m] if count[i] > 0 and i in own]
        phi = np.array([total[i] / count[i] for i in its])
        mine = np.array([own[i] for i in its])
        low = phi <= np.median(phi)
        gaps.append((m, len(its), mine[low].mean(), mine[~low].mean()))
        phis.extend(phi)
        owns.extend(mine)
    phis, owns = np.array(phis), np.array(owns)
    rho = np.corrcoef(ranks(phis), ranks(owns))[0, 1]
    print("model,asked_items,own_z2_low_phi,own_z2_high_phi")
    for m, n, lo, hi in gaps:
        print(f"{m},{n},{lo:.2f},{hi:.2f}")
    lo = np.mean([g[2] for g in gaps])
    hi = np.mean([g[3] for g in gaps])
    print(
        f"# {len(phis)} (model, item) pairs: Spearman(phi, own z2) {rho:.3f}; "
        f"mean own z2 over models, lower half of phi {lo:.2f}, upper half {hi:.2f}; "
        f"mean phi of asked items {phis.mean():.2f}, mean own z2 {owns.mean():.2f}"
    )


if __name__ == "__main__":
    main()
