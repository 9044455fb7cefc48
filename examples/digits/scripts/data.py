"""Shared by train.py and evaluate.py: the params and the split of scikit-learn's bundled digits
(1,797 8x8 images, no download)."""
import yaml
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def load_split(params_path):
    """Returns (params, X_train, X_test, y_train, y_test) with the split the params fix."""
    with open(params_path) as f:
        params = yaml.safe_load(f)
    digits = load_digits()
    split = params["split"]
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data,
        digits.target,
        test_size=split["test_size"],
        random_state=split["seed"],
        stratify=digits.target,
    )
    return params, X_train, X_test, y_train, y_test
