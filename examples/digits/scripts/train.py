"""Trains a support vector classifier (RBF kernel; C and gamma from params.yaml) on the digits;
writes the model and its path as a step output."""
import argparse
import os
import pickle

from data import load_split
from sklearn.svm import SVC

parser = argparse.ArgumentParser()
parser.add_argument("--params", default="params.yaml")
parser.add_argument("--out", required=True)
args = parser.parse_args()

params, X_train, _, y_train, _ = load_split(args.params)
model = SVC(C=params["model"]["C"], gamma=params["model"]["gamma"])
model.fit(X_train, y_train)
os.makedirs(args.out, exist_ok=True)
path = os.path.join(args.out, "model.pkl")
with open(path, "wb") as f:
    pickle.dump(model, f)
if "GITHUB_OUTPUT" in os.environ:
    with open(os.environ["GITHUB_OUTPUT"], "a") as f:
        f.write(f"path={path}\n")
print(f"trained on {len(X_train)} images; model written to {path}")
