"""Evaluates the model on the held-out digits; writes metrics as JSON (nested keys flatten to
f1.macro, precision.macro, ...)."""
import argparse
import json
import os
import pickle

from data import load_split
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

parser = argparse.ArgumentParser()
parser.add_argument("--params", default="params.yaml")
parser.add_argument("--model", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

_, _, X_test, _, y_test = load_split(args.params)
with open(os.path.join(args.model, "model.pkl"), "rb") as f:
    model = pickle.load(f)
pred = model.predict(X_test)
metrics = {
    "accuracy": round(float(accuracy_score(y_test, pred)), 6),
    "f1": {"macro": round(float(f1_score(y_test, pred, average="macro")), 6)},
    "precision": {"macro": round(float(precision_score(y_test, pred, average="macro", zero_division=0)), 6)},
    "recall": {"macro": round(float(recall_score(y_test, pred, average="macro")), 6)},
    "test_images": int(len(y_test)),
}
with open(args.out, "w") as f:
    json.dump(metrics, f, indent=2)
print(json.dumps(metrics))
