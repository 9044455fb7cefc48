"""Copies the bundled iris CSV (raw/iris.csv, Fisher's 150 flowers with an id column) to the
pipeline's data file, checking its header and its 50 rows per species on the way."""
import argparse
import collections
import csv
import os

HEADER = ["id", "sepal_length", "sepal_width", "petal_length", "petal_width", "species"]

parser = argparse.ArgumentParser()
parser.add_argument("--source", default="raw/iris.csv")
parser.add_argument("--out", required=True)
args = parser.parse_args()

with open(args.source, newline="") as f:
    rows = list(csv.reader(f))
if rows[0] != HEADER:
    raise SystemExit(f"{args.source}: the header is {rows[0]}, expected {HEADER}")
counts = collections.Counter(r[-1] for r in rows[1:])
if sorted(counts.values()) != [50, 50, 50]:
    raise SystemExit(f"{args.source}: expected 50 rows per species, found {dict(counts)}")
os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
with open(args.out, "w", newline="") as f:
    csv.writer(f).writerows(rows)
print(f"wrote {len(rows) - 1} rows to {args.out}: {dict(sorted(counts.items()))}")
