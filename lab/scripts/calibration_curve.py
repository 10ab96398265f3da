"""Leave-one-out error against the number of calibration models K.

A leave-one-out over a group of K+1 models examines each of them with a
calibration on the other K. For each K the models are split four times at
random (seed 12) into groups of K+1; a short last group is filled with
models of the other groups, which calibrate but are not counted, so every
model is examined once per partition, each time with another random
calibration set of K models. Each group is one `fangsheng-lab loo` run
(2PL, default priors, 25 / 50 / 100 items, 20 seeds, variant
content=category, no score link); the figures come from the runs'
--details files: MAE over every counted (model, partition, seed) of
`adaptive content=category`, `adaptive`, `random-irt`, `random-accuracy`
and the full-run floor, the same split by whether the examined model has
the best or worst accuracy of its group, and a least-squares fit of
MAE(K)^2 = alpha + beta / K for content=category at 50 items.

    cargo build --release -p fangsheng-lab
    python3 lab/scripts/calibration_curve.py WORKDIR [K ...] [--responses FILE] [--tags FILE] [--bin FILE]

K defaults to 5 10 15 21 (21: one run over all 22 models); the partitions
are drawn in the order the K are given, from one generator, so
`WORKDIR 20` alone draws the K = 20 partitions. RESPONSES (default
$FANGSHENG_SHARED/data/mmlu-pro/responses.csv.gz, FANGSHENG_SHARED
defaulting to ../shared beside the repository) is a long CSV, gzip
allowed, with columns model,item_id,correct[,...]; TAGS (default
MMLU-Pro's items.jsonl.gz there) gives the category of each question_id;
BIN defaults to target/release/fangsheng-lab of this repository. Runs
already finished in WORKDIR (their details file exists) are not repeated,
so the tables of a finished design are printed again in seconds. About 15
minutes per data set for K = 5, 10, 15, 21 on 2 cores, 4 minutes for K = 20.

On a parametric twin (parametric_twin.py), where the 2PL is true:

    python3 lab/scripts/calibration_curve.py /tmp/curve-twin --responses twin.csv
"""

import argparse
import csv
import gzip
import io
import math
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("FANGSHENG_SHARED", ROOT.parent / "shared"))
PARTITIONS = 4
SEED = 12
ROWS = [
    "adaptive content=category",
    "adaptive",
    "random-irt",
    "random-accuracy",
    "irt-full-run",
]


def open_text(path):
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path), newline="")
    return open(path, newline="")


def read_rows(path):
    with open_text(path) as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    return header, rows


def partitions(models, k, rng):
    """Groups of k+1 models, with the models each group counts."""
    out = []
    for p in range(PARTITIONS):
        order = models[:]
        rng.shuffle(order)
        for start in range(0, len(order), k + 1):
            counted = order[start : start + k + 1]
            others = [m for m in order if m not in counted]
            fill = rng.sample(others, k + 1 - len(counted))
            out.append((p, counted, counted + fill))
    return out


def run_group(binary, header, rows, tags, workdir, label, members):
    details = os.path.join(workdir, label + "-details.csv")
    if os.path.exists(details):
        return details
    data = os.path.join(workdir, label + ".csv")
    keep = set(members)
    with open(data, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header[:3])
        w.writerows(r[:3] for r in rows if r[0] in keep)
    cmd = [
        binary, "loo", "--responses", data,
        "--tags", tags, "--id-field", "question_id", "--tag-field", "category",
        "--models", "2pl", "--lengths", "25,50,100", "--seeds", "20",
        "--cache", os.path.join(workdir, "cache-" + label),
        "--variants", "content=category",
        "--out", os.path.join(workdir, label + ".out.csv"),
        "--details", details + ".part",
    ]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    os.replace(details + ".part", details)
    os.remove(data)
    return details


def errors(details, counted):
    """{(method, items): [|predicted - observed| in points, ...]} for counted models.

    Also under (method, items, "edge" | "inside"): whether the examined model
    has the best or worst whole-run accuracy of its group, so that its
    calibration models all lie on one side of it.
    """
    with open(details, newline="") as f:
        rows = list(csv.DictReader(f))
    observed = {r["examinee"]: float(r["observed"]) for r in rows}
    ranked = sorted(observed, key=observed.get)
    edge = {ranked[0], ranked[-1]}
    out = {}
    for r in rows:
        if r["examinee"] not in counted:
            continue
        items = "full" if r["method"] == "irt-full-run" else r["items"]
        err = 100.0 * abs(float(r["predicted"]) - float(r["observed"]))
        out.setdefault((r["method"], items), []).append(err)
        side = "edge" if r["examinee"] in edge else "inside"
        out.setdefault((r["method"], items, side), []).append(err)
    return out


def fit(ks, maes):
    """Least squares of MAE^2 = alpha + beta / K."""
    xs = [1.0 / k for k in ks]
    ys = [m * m for m in maes]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    beta = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - beta * mx, beta


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir")
    parser.add_argument("ks", nargs="*", type=int, metavar="K")
    parser.add_argument(
        "--responses", default=str(SHARED / "data" / "mmlu-pro" / "responses.csv.gz")
    )
    parser.add_argument("--tags", default=str(SHARED / "data" / "mmlu-pro" / "items.jsonl.gz"))
    parser.add_argument("--bin", default=str(ROOT / "target" / "release" / "fangsheng-lab"))
    args = parser.parse_args()
    binary, responses, tags, workdir = args.bin, args.responses, args.tags, args.workdir
    ks = args.ks or [5, 10, 15, 21]
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} not found: cargo build --release -p fangsheng-lab")
    os.makedirs(workdir, exist_ok=True)
    header, rows = read_rows(responses)
    models = sorted({r[0] for r in rows})
    rng = random.Random(SEED)
    table = {}
    for k in ks:
        if k + 1 >= len(models):
            groups = [(0, models, models)]
        else:
            groups = partitions(models, k, rng)
        pooled = {}
        for g, (p, counted, members) in enumerate(groups):
            label = "k%d-p%d-g%d" % (k, p, g)
            details = run_group(binary, header, rows, tags, workdir, label, members)
            for key, errs in errors(details, set(counted)).items():
                pooled.setdefault(key, []).extend(errs)
            print("K=%d group %d/%d done" % (k, g + 1, len(groups)), file=sys.stderr)
        table[k] = {key: (sum(v) / len(v), len(v)) for key, v in pooled.items()}

    print("| row | items | " + " | ".join("K=%d" % k for k in ks) + " |")
    print("|---|---|" + "---|" * len(ks))
    for method in ROWS:
        for items in (["full"] if method == "irt-full-run" else ["25", "50", "100"]):
            cells = []
            for k in ks:
                mae, n = table[k].get((method, items), (math.nan, 0))
                cells.append("%.2f (%d)" % (mae, n))
            print("| %s | %s | %s |" % (method, items, " | ".join(cells)))

    print("\ncontent=category at 50 items, by the examined model's place in its group:")
    for side in ("inside", "edge"):
        cells = []
        for k in ks:
            mae, n = table[k].get(("adaptive content=category", "50", side), (math.nan, 0))
            cells.append("K=%d %.2f (%d)" % (k, mae, n))
        print("  %s: %s" % (side, ", ".join(cells)))

    if len(ks) >= 3:
        maes = [table[k][("adaptive content=category", "50")][0] for k in ks]
        alpha, beta = fit(ks, maes)
        print("\nfit MAE^2 = alpha + beta/K, content=category at 50 items:")
        print("alpha %.3f, beta %.3f, sqrt(alpha) %s" % (
            alpha, beta, "%.2f" % math.sqrt(alpha) if alpha > 0 else "n/a (alpha <= 0)"))
        for k, m in zip(ks, maes):
            print("  K=%d: MAE %.2f, fitted %.2f" % (k, m, math.sqrt(max(alpha + beta / k, 0))))
        if alpha < 4 and beta > 0:
            print("K at which the fitted MAE reaches 2.0: %.0f" % (beta / (4 - alpha)))


if __name__ == "__main__":
    main()
