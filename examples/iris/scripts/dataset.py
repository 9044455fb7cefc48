"""Shared by train.py and evaluate.py: the params, the CSV's features, and the split.

The standard library only: a two-level params.yaml reader, a CSV reader, and a stratified split
that the params' seed fixes.
"""
import csv
import random

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def scalar(text):
    """A YAML scalar as this params file writes them: an int, a float, or a string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip("'\"")


def read_params(path):
    """Reads params.yaml: top-level keys holding `key: value` lines indented under them."""
    params, section = {}, None
    with open(path) as f:
        for raw in f:
            line = raw.split("#", 1)[0].rstrip()
            if not line:
                continue
            key, _, value = line.strip().partition(":")
            value = value.strip()
            if not raw[0].isspace():
                section = params if value else None
                if value:
                    params[key] = scalar(value)
                else:
                    params[key] = {}
                    section = params[key]
            elif section is not None:
                section[key] = scalar(value)
    return params


def read_rows(path):
    """The CSV's rows as (features, species)."""
    with open(path, newline="") as f:
        return [([float(r[c]) for c in FEATURES], r["species"]) for r in csv.DictReader(f)]


def load_split(params_path, data_path):
    """Returns (params, train rows, test rows): each species split alike, in a seeded order."""
    params = read_params(params_path)
    split = params["split"]
    by_class = {}
    for row in read_rows(data_path):
        by_class.setdefault(row[1], []).append(row)
    rng = random.Random(split["seed"])
    train, test = [], []
    for label in sorted(by_class):
        rows = by_class[label]
        rng.shuffle(rows)
        n_test = round(len(rows) * split["test_size"])
        test.extend(rows[:n_test])
        train.extend(rows[n_test:])
    return params, train, test
