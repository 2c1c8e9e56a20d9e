"""The Airflow 3.3.2 virtualenv used by differential tests, created on first use (about a minute).

Location: ``$DAGSTUDIO_AIRFLOW_VENV`` or ``<repo>/.venv-airflow``. It holds apache-airflow 3.3.2 and
the docker and amazon providers (the samples use DockerOperator and the S3 operators).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_VERSION = "3.3.2"
PACKAGES = [
    f"apache-airflow=={AIRFLOW_VERSION}",
    "apache-airflow-providers-docker",
    "apache-airflow-providers-amazon",
]


def venv_dir() -> Path:
    return Path(os.environ.get("DAGSTUDIO_AIRFLOW_VENV", REPO / ".venv-airflow"))


def airflow_python() -> Path:
    """The venv's python, creating and filling the venv if needed (serialised with a file lock)."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    marker = venv / ".dagstudio-ready"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(str(venv) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
            marker.write_text(AIRFLOW_VERSION)
    return python


def airflow_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="True",
        AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
    )
    return env


def dagbag_structure(folder: Path) -> dict:
    """What Airflow's DagBag makes of every ``.py`` file in ``folder`` (see dagbag_structure.py)."""
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        proc = subprocess.run(
            [str(airflow_python()), str(Path(__file__).with_name("dagbag_structure.py")), str(folder)],
            capture_output=True,
            text=True,
            env=airflow_env(Path(home)),
            timeout=600,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"DagBag failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)
