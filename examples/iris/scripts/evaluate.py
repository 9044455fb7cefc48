"""Evaluates the model on the held-out split; writes metrics as JSON (nested keys flatten to
f1.macro, f1.setosa, ...)."""
import argparse
import json
import os

from dataset import load_split

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--params", default="params.yaml")
args = parser.parse_args()

_, _, test = load_split(args.params, args.data)
with open(os.path.join(args.model, "model.json")) as f:
    model = json.load(f)


def predict(x):
    z = [(v - m) / s for v, m, s in zip(x, model["means"], model["stds"])]
    scores = [w[0] + sum(wj * zj for wj, zj in zip(w[1:], z)) for w in model["weights"]]
    return model["classes"][scores.index(max(scores))]


truth = [label for _, label in test]
pred = [predict(x) for x, _ in test]
f1 = {}
for label in model["classes"]:
    tp = sum(1 for t, p in zip(truth, pred) if t == label and p == label)
    fp = sum(1 for t, p in zip(truth, pred) if t != label and p == label)
    fn = sum(1 for t, p in zip(truth, pred) if t == label and p != label)
    f1[label] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
metrics = {
    "accuracy": round(sum(t == p for t, p in zip(truth, pred)) / len(truth), 6),
    "f1": {"macro": round(sum(f1.values()) / len(f1), 6), **{k: round(v, 6) for k, v in f1.items()}},
    "test_rows": len(truth),
}
with open(args.out, "w") as f:
    json.dump(metrics, f, indent=2)
print(json.dumps(metrics))
