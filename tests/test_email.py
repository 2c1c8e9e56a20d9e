"""Email end to end: ``dagstudio run`` (real workers) sending to a real aiosmtpd server started by the test.

EmailOperator (to/cc/bcc, HTML, attachments, both import paths), ``email_on_failure``/``email_on_retry``
alerts (mapped tasks too), SmtpNotifier as task and DAG callbacks, SmtpHook and ``airflow.utils.email`` in
user code, and the ml_pipeline sample's mail. Where the SMTP settings come from: tests/test_email_settings.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.email_dags import run_dag
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def test_email_operator_to_cc_bcc_html_and_attachments(tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    report.write_bytes(b"a,b\n1,2\n")
    picture = tmp_path / "chart.bin"
    picture.write_bytes(bytes(range(256)))
    with SmtpServer() as server:
        run, _ = run_dag(
            tmp_path,
            f"""
            EmailOperator(
                task_id="send", to="a@example.com; b@example.com", cc=["c@example.com"], bcc="hidden@example.com",
                from_email="studio@example.com", subject="Report for {{{{ ds }}}}",
                html_content="<h1>{{{{ ti.task_id }}}} of {{{{ dag.dag_id }}}}</h1>",
                files=[{str(report)!r}, {str(picture)!r}],
            )
            """,
            {"AIRFLOW_CONN_SMTP_DEFAULT": server.conn_json()},
        )
        (mail,) = server.wait_for(1)
    assert run["tasks"]["send"]["state"] == "success"
    assert mail.mail_from == "studio@example.com"
    assert mail.rcpt_tos == ["a@example.com", "b@example.com", "c@example.com", "hidden@example.com"]
    assert mail.message["To"] == "a@example.com, b@example.com"
    assert mail.message["CC"] == "c@example.com"
    assert mail.message["Bcc"] is None and "hidden@example.com" not in mail.message.as_string()
    assert mail.subject == "Report for 2024-03-01"
    assert mail.html() == "<h1>send of mail</h1>"
    assert mail.attachments() == {"report.csv": b"a,b\n1,2\n", "chart.bin": bytes(range(256))}


def test_airflow2_email_operator_path_and_connection_sender(tmp_path: Path) -> None:
    with SmtpServer() as server:
        run, _ = run_dag(
            tmp_path,
            """
            from airflow.operators.email import EmailOperator as Airflow2EmailOperator
            Airflow2EmailOperator(task_id="old", to=["x@example.com"], subject="hi", html_content="<p>body</p>")
            """,
            {"AIRFLOW_CONN_SMTP_DEFAULT": server.conn_json(from_email="conn@example.com")},
        )
        (mail,) = server.wait_for(1)
    assert run["tasks"]["old"]["state"] == "success"
    assert mail.mail_from == "conn@example.com" and mail.rcpt_tos == ["x@example.com"]
    assert mail.html() == "<p>body</p>"


def test_email_on_retry_then_on_failure(tmp_path: Path) -> None:
    with SmtpServer() as server:
        run, _ = run_dag(
            tmp_path,
            """
            PythonOperator(task_id="flaky", python_callable=boom, retries=1, retry_delay=dt.timedelta(0),
                           email=["ops@example.com", "dev@example.com"])
            PythonOperator(task_id="quiet", python_callable=boom, email="ops@example.com", email_on_failure=False)
            """,
            {"AIRFLOW_CONN_SMTP_DEFAULT": server.conn_json()},
        )
        mails = server.wait_for(2)
    assert run["tasks"]["flaky"] == {**run["tasks"]["flaky"], "state": "failed", "try_number": 2}
    assert run["tasks"]["quiet"]["state"] == "failed"
    assert len(mails) == 2, [m.subject for m in mails]  # "quiet" has email_on_failure=False
    retry, failure = mails
    for mail, try_number, state in ((retry, 1, "up_for_retry"), (failure, 2, "failed")):
        assert mail.rcpt_tos == ["ops@example.com", "dev@example.com"]
        assert mail.mail_from == "airflow@airflow"  # Airflow 3.3's default [email] from_email
        assert "mail.flaky" in mail.subject and run["run_id"] in mail.subject
        assert f"try_number={try_number}" in mail.subject and f"[{state}]" in mail.subject
        body = mail.html()
        assert f"Try {try_number} out of 2<br>" in body
        assert "Exception:<br>disk &lt;full&gt;<br>second line<br>" in body


def test_email_on_retry_false_sends_only_the_failure(tmp_path: Path) -> None:
    with SmtpServer() as server:
        run_dag(
            tmp_path,
            """
            PythonOperator(task_id="flaky", python_callable=boom, retries=1, retry_delay=dt.timedelta(0),
                           email="ops@example.com", email_on_retry=False)
            """,
            {"AIRFLOW_CONN_SMTP_DEFAULT": server.conn_json(), "AIRFLOW__EMAIL__FROM_EMAIL": "alerts@example.com"},
        )
        mails = server.wait_for(1)
    assert [m.mail_from for m in mails] == ["alerts@example.com"]
    assert "[failed]" in mails[0].subject and "try_number=2" in mails[0].subject


def test_smtp_notifier_as_on_failure_callback(tmp_path: Path) -> None:
    with SmtpServer() as server:
        run, _ = run_dag(
            tmp_path,
            """
            PythonOperator(task_id="custom", python_callable=boom, on_failure_callback=SmtpNotifier(
                to="team@example.com", from_email="bot@example.com",
                subject="{{ ti.task_id }} failed in {{ dag.dag_id }}",
                html_content="<p>run {{ run_id }}, try {{ ti.try_number }}: {{ exception }}</p>"))
            PythonOperator(task_id="default", python_callable=boom,
                           on_failure_callback=[SmtpNotifier(to="team@example.com", from_email="bot@example.com")])
            """,
            {"AIRFLOW_CONN_SMTP_DEFAULT": server.conn_json()},
        )
        mails = {"default" if "Task default" in m.subject else "custom": m for m in server.wait_for(2)}
    assert run["tasks"]["custom"]["state"] == "failed"
    custom = mails["custom"]
    assert custom.subject == "custom failed in mail"
    assert custom.html() == f"<p>run {run['run_id']}, try 1: disk <full>\nsecond line</p>"
    default = mails["default"]
    assert default.subject == f"DAG mail - Task default - Run ID {run['run_id']} in State failed"
    assert "<td>Try:</td>            <td>1 of 1</td>" in default.html()
    assert default.rcpt_tos == ["team@example.com"] and default.mail_from == "bot@example.com"


def test_ml_sample_notifies_the_team_when_the_model_is_not_deployed(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "DAGSTUDIO_HOME": str(tmp_path / "home"), "ML_PIPELINE_DATA_DIR": str(tmp_path / "data")}
    exported = subprocess.run(
        [sys.executable, "-m", "studio", "export", str(repo / "sample_projects" / "ml_pipeline"), "-o",
         str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    with SmtpServer() as server:
        env["AIRFLOW_CONN_SMTP_DEFAULT"] = server.conn_json(from_email="ml@example.com")
        proc = subprocess.run(
            [sys.executable, "-m", "studio", "run", str(tmp_path / "out" / "ml_daily_training.py"), "--logical-date",
             "2024-03-01", "--conf", '{"max_rmse": 0}', "--json"],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        (mail,) = server.wait_for(1)
    run = json.loads(proc.stdout)
    assert run["tasks"]["notify_team"]["state"] == "success" and run["tasks"]["deploy_model"]["state"] == "skipped"
    assert mail.subject == "[ml_daily_training] model of 2024-03-01 not deployed"
    assert mail.rcpt_tos == ["ml-team@example.com"] and mail.mail_from == "ml@example.com"
    assert "<b>2024-03-01</b> has a hold-out RMSE of " in mail.html() and "above the limit of 0" in mail.html()


def test_notifier_on_success_and_dag_failure_hook_and_utils_send_email(tmp_path: Path) -> None:
    with SmtpServer() as server:
        run, _ = run_dag(
            tmp_path,
            """
            from airflow.providers.smtp.hooks.smtp import SmtpHook
            from airflow.utils.email import send_email

            def with_hook():
                with SmtpHook() as hook:
                    hook.send_email_smtp(to="hook@example.com", subject="from a hook", html_content="<i>h</i>")

            def legacy(context):
                send_email("legacy@example.com", f"retry of {context['ti'].task_id}", str(context["exception"]))

            PythonOperator(task_id="hooked", python_callable=with_hook, on_success_callback=SmtpNotifier(
                to="ok@example.com", subject="{{ ti.task_id }} is {{ ti.state }}", html_content="fine"))
            PythonOperator(task_id="failing", python_callable=boom, retries=1, retry_delay=dt.timedelta(0),
                           on_retry_callback=legacy)
            """,
            {"AIRFLOW_CONN_SMTP_DEFAULT": server.conn_json(from_email="studio@example.com")},
            dag_args=', on_failure_callback=SmtpNotifier(to="dag@example.com", subject="{{ dag.dag_id }}: {{ reason }}",'
            ' html_content="{{ run_id }}")',
        )
        mails = {m.rcpt_tos[0]: m for m in server.wait_for(4)}
    assert run["state"] == "failed" and run["tasks"]["hooked"]["state"] == "success"
    assert set(mails) == {"hook@example.com", "ok@example.com", "legacy@example.com", "dag@example.com"}
    assert (mails["hook@example.com"].subject, mails["hook@example.com"].html()) == ("from a hook", "<i>h</i>")
    assert mails["ok@example.com"].subject == "hooked is success"
    assert mails["legacy@example.com"].subject == "retry of failing"
    assert mails["legacy@example.com"].html() == "disk <full>\nsecond line"
    assert mails["dag@example.com"].subject.startswith("mail:")  # the reason: engine_run's (Airflow: task_failure)
    assert mails["dag@example.com"].html() == run["run_id"]
    assert {m.mail_from for m in mails.values()} == {"studio@example.com"}


def test_alert_of_a_mapped_task_names_its_map_index(tmp_path: Path) -> None:
    with SmtpServer() as server:
        run, _ = run_dag(
            tmp_path,
            """
            def fail_on(n):
                if n == 2:
                    raise RuntimeError(f"bad item {n}")

            PythonOperator.partial(task_id="each", python_callable=fail_on, email="ops@example.com").expand(
                op_args=[[1], [2]]
            )
            """,
            {"AIRFLOW_CONN_SMTP_DEFAULT": server.conn_json()},
        )
        (mail,) = server.wait_for(1)
    assert run["tasks"]["each[1]"]["state"] == "failed" and run["tasks"]["each[0]"]["state"] == "success"
    assert "mail.each " in mail.subject and " map_index=1 try_number=1 [failed]" in mail.subject
    assert "Exception:<br>bad item 2<br>" in mail.html()
