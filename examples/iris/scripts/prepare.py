"""Exports scikit-learn's bundled iris dataset to CSV with an id column."""
import argparse
import csv
import os

from sklearn.datasets import load_iris

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
args = parser.parse_args()

iris = load_iris()
os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
with open(args.out, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["id", "sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
    for i, (row, target) in enumerate(zip(iris.data, iris.target)):
        writer.writerow([i, *(f"{v:.1f}" for v in row), iris.target_names[target]])
print(f"wrote {len(iris.data)} rows to {args.out}")
