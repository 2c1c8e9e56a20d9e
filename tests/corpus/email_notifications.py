"""EmailOperator from the smtp provider (Airflow 3 path) and from airflow.operators.email (Airflow 2)."""

from datetime import datetime

from airflow import DAG
from airflow.operators.email import EmailOperator as LegacyEmail
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.providers.standard.operators.bash import BashOperator

RECIPIENTS = ["team@example.com", "oncall@example.com"]

with DAG("corpus_email", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False) as dag:
    build = BashOperator(task_id="build_report", bash_command="make report")
    send = EmailOperator(
        task_id="send_report",
        to=RECIPIENTS,
        subject="Daily report {{ ds }}",
        html_content="<h1>Report</h1><p>{{ ti.xcom_pull('build_report') }}</p>",
    )
    legacy = LegacyEmail(task_id="send_legacy", to="boss@example.com", subject="done", html_content="ok")
    build >> send >> legacy
