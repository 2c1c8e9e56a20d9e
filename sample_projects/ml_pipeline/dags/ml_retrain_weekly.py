import json
import os
from pathlib import Path


# The daily pipeline's production/ folder holds the metrics of the model that serves today.
PRODUCTION_METRICS = Path(os.environ.get("ML_PIPELINE_DATA_DIR", "/tmp/dagstudio/ml_pipeline")) / "production/metrics.json"


def choose_promotion(candidate_report: str, min_gain: float = 0.02) -> str:
    """Branch on the candidate's report (the last line the training container printed, as JSON).

    Promote when there is no production model yet, or when the candidate's RMSE is at least
    ``min_gain`` (a fraction) lower than production's.
    """
    candidate = json.loads(candidate_report)["rmse"]
    if not PRODUCTION_METRICS.exists():
        return "promote_model"
    current = json.loads(PRODUCTION_METRICS.read_text())["rmse"]
    return "promote_model" if candidate <= current * (1 - min_gain) else "keep_current_model"
