import csv
import json
import os
import random
from pathlib import Path


# Where the pipeline keeps its files: one folder per logical date, plus production/.
DATA_DIR = Path(os.environ.get("ML_PIPELINE_DATA_DIR", "/tmp/dagstudio/ml_pipeline"))


FEATURES = ["bias", "rooms", "age", "rooms_x_age"]


def _run_dir(ds: str) -> Path:
    folder = DATA_DIR / ds
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read_rows(path: Path) -> list[dict[str, float]]:
    with path.open(newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _write_rows(path: Path, rows: list[dict[str, float]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def prepare_data(ds: str, rows: int = 200) -> str:
    """Write a synthetic house-price dataset for the logical date; the same date gives the same data."""
    rng = random.Random(ds)
    data = []
    for _ in range(rows):
        rooms = rng.randint(1, 6)
        age = rng.randint(0, 80)
        price = 50 + 30 * rooms - 0.4 * age + rng.gauss(0, 5)
        data.append({"rooms": rooms, "age": age, "price": round(price, 2)})
    path = _run_dir(ds) / "raw.csv"
    _write_rows(path, data)
    return str(path)


def engineer_features(ds: str) -> int:
    """Standardise rooms and age, add their product; keep the scaling so serving can reuse it."""
    folder = _run_dir(ds)
    raw = _read_rows(folder / "raw.csv")
    scaling = {}
    for name in ("rooms", "age"):
        values = [row[name] for row in raw]
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 or 1.0
        scaling[name] = {"mean": mean, "std": std}
    features = []
    for row in raw:
        rooms = (row["rooms"] - scaling["rooms"]["mean"]) / scaling["rooms"]["std"]
        age = (row["age"] - scaling["age"]["mean"]) / scaling["age"]["std"]
        features.append({"bias": 1.0, "rooms": rooms, "age": age, "rooms_x_age": rooms * age, "price": row["price"]})
    _write_rows(folder / "features.csv", features)
    (folder / "scaling.json").write_text(json.dumps(scaling, indent=2))
    return len(features)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the normal equations are tiny)."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= factor * a[col][c]
    weights = [0.0] * n
    for r in range(n - 1, -1, -1):
        weights[r] = (a[r][n] - sum(a[r][c] * weights[c] for c in range(r + 1, n))) / a[r][r]
    return weights


def _split(rows: list[dict[str, float]], holdout_every: int) -> tuple[list, list]:
    train = [row for i, row in enumerate(rows) if i % holdout_every]
    holdout = [row for i, row in enumerate(rows) if not i % holdout_every]
    return train, holdout


def train_model(ds: str, holdout_every: int = 5) -> str:
    """Fit a linear regression (least squares) on all rows but every holdout_every-th one."""
    folder = _run_dir(ds)
    train, _ = _split(_read_rows(folder / "features.csv"), holdout_every)
    xtx = [[sum(row[i] * row[j] for row in train) for j in FEATURES] for i in FEATURES]
    xty = [sum(row[i] * row["price"] for row in train) for i in FEATURES]
    model = {"features": FEATURES, "weights": _solve(xtx, xty), "trained_rows": len(train), "ds": ds}
    path = folder / "model.json"
    path.write_text(json.dumps(model, indent=2))
    return str(path)


def evaluate_model(ds: str, holdout_every: int = 5) -> float:
    """Root mean squared error on the hold-out rows; the return value is the task's XCom."""
    folder = _run_dir(ds)
    model = json.loads((folder / "model.json").read_text())
    _, holdout = _split(_read_rows(folder / "features.csv"), holdout_every)
    errors = [sum(w * row[f] for w, f in zip(model["weights"], model["features"])) - row["price"] for row in holdout]
    rmse = round((sum(e * e for e in errors) / len(errors)) ** 0.5, 4)
    (folder / "metrics.json").write_text(json.dumps({"rmse": rmse, "holdout_rows": len(holdout)}, indent=2))
    return rmse


def choose_deployment(rmse: str, max_rmse: str) -> str:
    """Branch: the task id to follow. Templates render to strings, hence the float()."""
    return "deploy_model" if float(rmse) <= float(max_rmse) else "notify_team"


def deploy_model(ds: str) -> str:
    """Publish the model (and its scaling) to production/ atomically: write a temp file, then rename."""
    folder = _run_dir(ds)
    production = DATA_DIR / "production"
    production.mkdir(parents=True, exist_ok=True)
    for name in ("model.json", "scaling.json", "metrics.json"):
        tmp = production / f".{name}.tmp"
        tmp.write_text((folder / name).read_text())
        os.replace(tmp, production / name)
    return str(production / "model.json")
