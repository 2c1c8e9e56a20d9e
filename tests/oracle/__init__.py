"""Real Apache Airflow as the oracle: a separate virtualenv and scripts that run inside it."""
