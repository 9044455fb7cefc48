"""Trains a logistic regression on the iris CSV; writes the model and its path as a step output."""
import argparse
import os
import pickle

from dataset import load_split
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser()
parser.add_argument("--params", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

params, X_train, _, y_train, _ = load_split(args.params, args.data)
model = LogisticRegression(C=params["model"]["C"], max_iter=params["model"]["max_iter"])
model.fit(X_train, y_train)
os.makedirs(args.out, exist_ok=True)
path = os.path.join(args.out, "model.pkl")
with open(path, "wb") as f:
    pickle.dump(model, f)
if "GITHUB_OUTPUT" in os.environ:
    with open(os.environ["GITHUB_OUTPUT"], "a") as f:
        f.write(f"path={path}\n")
print(f"model written to {path}")
