"""Shared by train.py and evaluate.py: the params, the CSV's features, and the split."""
import csv

import yaml
from sklearn.model_selection import train_test_split

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def load_split(params_path, data_path):
    """Returns (params, X_train, X_test, y_train, y_test) with the split the params fix."""
    with open(params_path) as f:
        params = yaml.safe_load(f)
    with open(data_path) as f:
        rows = list(csv.DictReader(f))
    X = [[float(r[c]) for c in FEATURES] for r in rows]
    y = [r["species"] for r in rows]
    split = params["split"]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=split["test_size"], random_state=split["seed"], stratify=y
    )
    return params, X_train, X_test, y_train, y_test
