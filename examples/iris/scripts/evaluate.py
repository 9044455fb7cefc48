"""Evaluates the model on the held-out split; writes metrics as JSON (nested keys flatten to f1.macro)."""
import argparse
import json
import os
import pickle

from dataset import load_split
from sklearn.metrics import accuracy_score, f1_score

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--params", default="params.yaml")
args = parser.parse_args()

_, _, X_test, _, y_test = load_split(args.params, args.data)
with open(os.path.join(args.model, "model.pkl"), "rb") as f:
    model = pickle.load(f)
pred = model.predict(X_test)
labels = sorted(set(y_test))
per_class = f1_score(y_test, pred, average=None, labels=labels)
metrics = {
    "accuracy": round(float(accuracy_score(y_test, pred)), 6),
    "f1": {"macro": round(float(f1_score(y_test, pred, average="macro")), 6),
           **{label: round(float(v), 6) for label, v in zip(labels, per_class)}},
}
with open(args.out, "w") as f:
    json.dump(metrics, f, indent=2)
print(json.dumps(metrics))
