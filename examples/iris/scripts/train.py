"""Trains a multinomial logistic regression (softmax, L2 penalty 1/C, batch gradient descent on
standardized features) on the iris CSV; writes the model as JSON and its path as a step output."""
import argparse
import json
import math
import os

from dataset import load_split

parser = argparse.ArgumentParser()
parser.add_argument("--params", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

params, train, _ = load_split(args.params, args.data)
model_params = params["model"]
classes = sorted({label for _, label in train})
n_features = len(train[0][0])
means = [sum(x[j] for x, _ in train) / len(train) for j in range(n_features)]
stds = [
    math.sqrt(sum((x[j] - means[j]) ** 2 for x, _ in train) / len(train)) or 1.0
    for j in range(n_features)
]
X = [[(v - m) / s for v, m, s in zip(x, means, stds)] for x, _ in train]
Y = [classes.index(label) for _, label in train]


def softmax(scores):
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


# weights[k] = [bias, w_1 .. w_n] for class k
weights = [[0.0] * (n_features + 1) for _ in classes]
rate = model_params.get("learning_rate", 0.5)
penalty = 1.0 / (model_params["C"] * len(X))
for _ in range(model_params["max_iter"]):
    grad = [[0.0] * (n_features + 1) for _ in classes]
    for x, y in zip(X, Y):
        probs = softmax([w[0] + sum(wj * xj for wj, xj in zip(w[1:], x)) for w in weights])
        for k, p in enumerate(probs):
            err = p - (1.0 if k == y else 0.0)
            grad[k][0] += err
            for j, xj in enumerate(x):
                grad[k][j + 1] += err * xj
    for k, w in enumerate(weights):
        w[0] -= rate * grad[k][0] / len(X)
        for j in range(1, n_features + 1):
            w[j] -= rate * (grad[k][j] / len(X) + penalty * w[j])

os.makedirs(args.out, exist_ok=True)
path = os.path.join(args.out, "model.json")
with open(path, "w") as f:
    json.dump({"classes": classes, "means": means, "stds": stds, "weights": weights}, f, indent=2)
if "GITHUB_OUTPUT" in os.environ:
    with open(os.environ["GITHUB_OUTPUT"], "a") as f:
        f.write(f"path={path}\n")
print(f"trained on {len(X)} rows; model written to {path}")
