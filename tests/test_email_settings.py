"""Where email goes and how: SMTP settings from the connection vs Airflow's ``[smtp]`` environment
variables (with AUTH), URI connections and other conn ids, SSL (the connection's default) and STARTTLS
(``[smtp]``'s default) against a server with a self-signed certificate, and the clear task errors of an
unverifiable certificate, an unreachable or silent server and bad settings — real aiosmtpd servers,
real ``dagstudio run``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.email_dags import run_dag, task_log
from tests.smtp_server import SmtpServer, free_port

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def test_smtp_settings_from_environment_without_a_connection(tmp_path: Path) -> None:
    with SmtpServer(auth=("mailer", "s3cret")) as server:
        env = {
            "AIRFLOW__SMTP__SMTP_HOST": "127.0.0.1", "AIRFLOW__SMTP__SMTP_PORT": str(server.port),
            "AIRFLOW__SMTP__SMTP_STARTTLS": "False", "AIRFLOW__SMTP__SMTP_SSL": "False",
            "AIRFLOW__SMTP__SMTP_USER": "mailer", "AIRFLOW__SMTP__SMTP_PASSWORD": "s3cret",
            "AIRFLOW__SMTP__SMTP_MAIL_FROM": "env@example.com",
        }  # fmt: skip
        run, _ = run_dag(
            tmp_path,
            'EmailOperator(task_id="send", to="x@example.com", subject="s", html_content="b")',
            env,
        )
        (mail,) = server.wait_for(1)
    assert run["tasks"]["send"]["state"] == "success"
    assert mail.mail_from == "env@example.com" and server.logins == ["mailer"]


def test_connection_wins_over_smtp_settings(tmp_path: Path) -> None:
    with SmtpServer() as decoy, SmtpServer(auth=("conn-user", "conn-pass")) as server:
        env = {
            "AIRFLOW__SMTP__SMTP_HOST": "127.0.0.1", "AIRFLOW__SMTP__SMTP_PORT": str(decoy.port),
            "AIRFLOW__SMTP__SMTP_STARTTLS": "False",
            "AIRFLOW_CONN_SMTP_DEFAULT": server.conn_json(from_email="conn@example.com"),
        }  # fmt: skip
        run, _ = run_dag(
            tmp_path,
            'EmailOperator(task_id="send", to="x@example.com", subject="s", html_content="b")',
            env,
        )
        (mail,) = server.wait_for(1)
    assert run["tasks"]["send"]["state"] == "success"
    assert mail.mail_from == "conn@example.com" and server.logins == ["conn-user"]
    assert decoy.messages == []


def test_connection_uri_form_and_own_conn_id(tmp_path: Path) -> None:
    with SmtpServer() as server:
        uri = f"smtp://127.0.0.1:{server.port}?disable_ssl=true&disable_tls=true&from_email=uri%40example.com"
        run, _ = run_dag(
            tmp_path,
            'EmailOperator(task_id="send", to="x@example.com", subject="s", html_content="b", conn_id="my_mail")',
            {"AIRFLOW_CONN_MY_MAIL": uri},
        )
        (mail,) = server.wait_for(1)
    assert run["tasks"]["send"]["state"] == "success" and mail.mail_from == "uri@example.com"


def test_unreachable_server_fails_the_task_with_a_clear_error(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    conn = json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {"disable_ssl": True}})
    run, path = run_dag(
        tmp_path,
        'EmailOperator(task_id="send", to="x@example.com", subject="s", html_content="b", from_email="a@b.c")',
        {"AIRFLOW_CONN_SMTP_DEFAULT": conn},
    )
    assert run["state"] == "failed" and run["tasks"]["send"]["state"] == "failed"
    log = task_log(path, tmp_path / "home", run["run_id"], "send")
    assert f"Cannot send email through the SMTP server 127.0.0.1:{port} (STARTTLS, from the connection " in log
    assert "'smtp_default'): ConnectionRefusedError" in log


def test_an_alert_that_cannot_be_sent_leaves_the_task_failed(tmp_path: Path) -> None:
    env = {"AIRFLOW__SMTP__SMTP_HOST": "127.0.0.1", "AIRFLOW__SMTP__SMTP_PORT": str(free_port())}
    run, path = run_dag(tmp_path, 'PythonOperator(task_id="t", python_callable=boom, email="x@example.com")', env)
    assert run["tasks"]["t"]["state"] == "failed" and run["tasks"]["t"]["try_number"] == 1
    log = task_log(path, tmp_path / "home", run["run_id"], "t")
    assert "ValueError: disk <full>" in log
    assert "Cannot send email through the SMTP server 127.0.0.1:" in log and "[smtp] settings" in log


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AIRFLOW__SMTP__SMTP_STARTTLS": "maybe"}, 'Please check "SMTP_STARTTLS" key in "smtp" section'),
        ({"AIRFLOW__SMTP__SMTP_PORT": "twenty-five"}, 'Please check "SMTP_PORT" key in "smtp" section'),
    ],
)
def test_bad_smtp_settings_are_named(tmp_path: Path, env: dict[str, str], message: str) -> None:
    run, path = run_dag(tmp_path, 'EmailOperator(task_id="send", to="x@y.z", subject="s", html_content="b")', env)
    assert run["tasks"]["send"]["state"] == "failed"
    assert message in task_log(path, tmp_path / "home", run["run_id"], "send")


def test_ssl_is_the_connections_default(tmp_path: Path) -> None:
    with SmtpServer(tls="ssl", folder=tmp_path) as server:
        conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": server.port, "extra": {"ssl_context": "none"}}
        run, _ = run_dag(
            tmp_path,
            'EmailOperator(task_id="send", to="x@example.com", subject="s", html_content="b", from_email="a@b.c")',
            {"AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(conn)},
        )
        (mail,) = server.wait_for(1)
    assert run["tasks"]["send"]["state"] == "success" and mail.encrypted


def test_starttls_is_the_smtp_settings_default(tmp_path: Path) -> None:
    with SmtpServer(tls="starttls", folder=tmp_path) as server:
        env = {"AIRFLOW__SMTP__SMTP_HOST": "127.0.0.1", "AIRFLOW__SMTP__SMTP_PORT": str(server.port),
               "AIRFLOW__EMAIL__SSL_CONTEXT": "none"}  # fmt: skip
        run, _ = run_dag(tmp_path, 'EmailOperator(task_id="send", to="x@y.z", subject="s", html_content="b")', env)
        (mail,) = server.wait_for(1)
    assert run["tasks"]["send"]["state"] == "success" and mail.encrypted


def test_an_unverifiable_certificate_is_refused(tmp_path: Path) -> None:
    with SmtpServer(tls="ssl", folder=tmp_path) as server:
        conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": server.port}  # ssl_context "default": verified
        run, path = run_dag(
            tmp_path,
            'EmailOperator(task_id="send", to="x@example.com", subject="s", html_content="b", from_email="a@b.c")',
            {"AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(conn)},
        )
        assert server.messages == []
    assert run["tasks"]["send"]["state"] == "failed"
    log = task_log(path, tmp_path / "home", run["run_id"], "send")
    assert (
        f"SMTP server 127.0.0.1:{server.port} (SSL, from the connection 'smtp_default'): SSLCertVerificationError"
        in log
    )


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections (backlog) but never sends the greeting
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        conn = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {"disable_ssl": True, "timeout": 1, "retry_limit": 0},
        }
        run, path = run_dag(
            tmp_path,
            'EmailOperator(task_id="send", to="x@example.com", subject="s", html_content="b", from_email="a@b.c")',
            {"AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(conn)},
        )
    assert run["tasks"]["send"]["state"] == "failed"
    log = task_log(path, tmp_path / "home", run["run_id"], "send")
    assert f"SMTP server 127.0.0.1:{port} (STARTTLS, from the connection 'smtp_default'): " in log
    assert "SMTPServerDisconnected: Connection unexpectedly closed: timed out" in log  # smtplib's words
