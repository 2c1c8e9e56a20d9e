"""DAG Studio: design, generate, run and monitor Apache Airflow DAGs on the desktop."""

__version__ = "0.1.0"
