"""Differential test: the mails a DAG sends under real Airflow 3.3.2 (``dag.test()``) and under
``dagstudio run``, each to its own aiosmtpd server started here, are compared.

Same for both: EmailOperator's envelope, headers, subject, HTML and attachments; SmtpNotifier's
templated mail and its default template; the ``email_on_retry``/``email_on_failure`` alerts' recipients,
sender and body up to the log link (try N out of M, the HTML-escaped exception). Known differences,
checked as such: the alert's subject (Airflow renders the task instance's pydantic repr, DAG Studio
spells out dag.task, run, try and state), the log / mark-success links (no webserver) and ``ti.state``
rendered as ``TaskInstanceState.FAILED`` by Airflow, ``failed`` here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.smtp_server import Received, SmtpServer

pytestmark = pytest.mark.airflow

DAG = """
import datetime as dt
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.providers.smtp.notifications.smtp import SmtpNotifier

def boom():
    raise ValueError("kaput <b>now</b>")

with DAG("email_diff", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="boom", python_callable=boom, retries=1, retry_delay=dt.timedelta(0),
                   email=["ops@example.com", "dev@example.com"])
    PythonOperator(task_id="notified", python_callable=boom, on_failure_callback=SmtpNotifier(
        to="n@example.com", from_email="me@example.com", subject="failed {{ ti.task_id }} in {{ dag.dag_id }}",
        html_content="<p>{{ ti.try_number }} {{ exception }} {{ ds }}</p>"))
    PythonOperator(task_id="notified_default", python_callable=boom,
                   on_failure_callback=SmtpNotifier(to="d@example.com", from_email="me@example.com"))
    EmailOperator(task_id="mail", to="a@example.com; b@example.com", cc=["c@example.com"], bcc="hidden@example.com",
                  subject="hi {{ ds }}", html_content="<p>{{ ti.task_id }} {{ params.x }}</p>", params={"x": 7},
                  files=[ATTACHMENT], from_email="x@example.com")
"""


def run_airflow(dag_file: Path, conn: str) -> dict:
    from tests.oracle.airflow_env import airflow_python
    from tests.oracle.run_oracle import SCRIPT, _fresh_home, airflow_env_for_run

    with tempfile.TemporaryDirectory(prefix="airflow-email-") as scratch:
        home = _fresh_home(Path(scratch))
        dags = Path(scratch) / "dags"
        dags.mkdir()
        (dags / dag_file.name).symlink_to(dag_file)
        (Path(scratch) / "markers").mkdir()
        env = {**airflow_env_for_run(home, dags, Path(scratch) / "markers"), "AIRFLOW_CONN_SMTP_DEFAULT": conn}
        proc = subprocess.run(
            [str(airflow_python()), str(SCRIPT), str(dag_file), "email_diff", "2024-01-01T00:00:00+00:00", "{}"],
            capture_output=True, text=True, env=env, cwd=scratch, timeout=600,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-6000:]
    return json.loads(proc.stdout)


def run_studio(dag_file: Path, conn: str, home: Path) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__SMTP__", "AIRFLOW__EMAIL__"))}
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "run", str(dag_file), "--logical-date", "2024-01-01", "--json",
         "--home", str(home)],
        capture_output=True, text=True, timeout=120, env={**env, "AIRFLOW_CONN_SMTP_DEFAULT": conn},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


def by_kind(mails: list[Received]) -> dict[str, list[Received]]:
    kinds: dict[str, list[Received]] = {"alert": [], "notified": [], "default": [], "mail": []}
    for mail in mails:
        if mail.subject.startswith("Airflow alert:"):
            kinds["alert"].append(mail)
        elif mail.subject.startswith("failed notified"):
            kinds["notified"].append(mail)
        elif mail.subject.startswith("DAG email_diff - Task notified_default"):
            kinds["default"].append(mail)
        else:
            kinds["mail"].append(mail)
    kinds["alert"].sort(key=lambda m: "try_number=2" in m.subject)
    return kinds


def test_mails_match_airflow(tmp_path: Path) -> None:
    attachment = tmp_path / "att.txt"
    attachment.write_bytes(b"attached!\n\x00\xff")
    dag_file = tmp_path / "email_diff.py"
    dag_file.write_text(DAG.replace("ATTACHMENT", repr(str(attachment))))
    with SmtpServer() as theirs, SmtpServer() as ours:
        airflow = run_airflow(dag_file, theirs.conn_json())
        studio = run_studio(dag_file, ours.conn_json(), tmp_path / "home")
        expected, got = by_kind(theirs.wait_for(5)), by_kind(ours.wait_for(5))
    states = {t: (v["state"], v["try_number"]) for t, v in airflow["tasks"].items()}
    assert states == {t: (v["state"], v["try_number"]) for t, v in studio["tasks"].items()}
    assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in expected.items()} == {
        "alert": 2, "notified": 1, "default": 1, "mail": 1,
    }  # fmt: skip

    def same(a: Received, b: Received, *headers: str) -> None:
        assert (a.mail_from, a.rcpt_tos) == (b.mail_from, b.rcpt_tos)
        for header in headers:
            assert a.message[header] == b.message[header], header

    (their_mail,), (our_mail,) = expected["mail"], got["mail"]
    same(their_mail, our_mail, "Subject", "To", "CC", "Bcc", "From")
    assert our_mail.html() == their_mail.html() == "<p>mail 7</p>"
    assert our_mail.attachments() == their_mail.attachments() == {"att.txt": b"attached!\n\x00\xff"}
    assert [p.get_content_type() for p in our_mail.message.walk()] == [
        p.get_content_type() for p in their_mail.message.walk()
    ]

    (their_note,), (our_note,) = expected["notified"], got["notified"]
    same(their_note, our_note, "Subject", "To", "From")
    assert our_note.html() == their_note.html()

    (their_default,), (our_default,) = expected["default"], got["default"]
    same(their_default, our_default, "To", "From")
    assert our_default.subject == their_default.subject.replace("TaskInstanceState.FAILED", "failed")
    their_rows = their_default.html().replace("TaskInstanceState.FAILED", "failed").split("Log Link:")[0]
    assert our_default.html().split("Log Link:")[0] == their_rows

    for their_alert, our_alert, try_number, state in zip(
        expected["alert"], got["alert"], (1, 2), ("up_for_retry", "failed"), strict=True
    ):
        same(their_alert, our_alert, "To", "From")
        for fact in ("task_id='boom'", "dag_id='email_diff'", f"try_number={try_number}", f"'{state}'"):
            assert fact in " ".join(their_alert.subject.split())  # what Airflow's subject names...
        for fact in ("email_diff.boom", studio["run_id"], f"try_number={try_number}", f"[{state}]"):
            assert fact in our_alert.subject  # ...DAG Studio's names too
        their_body, our_body = their_alert.html(), our_alert.html()
        assert our_body.startswith(their_body.split("Log:")[0])
        assert f"Try {try_number} out of 2<br>Exception:<br>kaput &lt;b&gt;now&lt;/b&gt;<br>" in our_body
        host = their_body.split("Host: ")[1].split("<br>")[0]
        assert our_body.endswith(f"Host: {host}<br>")


def test_smtp_defaults_are_airflows() -> None:
    from studio.sdk.email import SMTP_DEFAULTS
    from tests.oracle.airflow_env import airflow_env, airflow_python

    script = (
        "import json; from airflow.configuration import conf; "
        f"print(json.dumps({{k: conf.get('smtp', k) for k in {sorted(SMTP_DEFAULTS)!r}}}))"
    )
    with tempfile.TemporaryDirectory(prefix="airflow-conf-") as home:
        proc = subprocess.run(
            [str(airflow_python()), "-c", script], capture_output=True, text=True, env=airflow_env(Path(home)),
            timeout=300,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == SMTP_DEFAULTS


SIGNATURES = """
import inspect, json
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
out = {}
for cls in (EmailOperator, SmtpNotifier):
    params = inspect.signature(cls.__init__).parameters
    out[cls.__name__] = {
        "template_fields": list(cls.template_fields), "template_ext": list(cls.template_ext),
        "params": {n: repr(p.default) for n, p in params.items() if n not in ("self", "kwargs")},
    }
print(json.dumps(out))
"""


def test_classes_and_catalog_match_the_provider(tmp_path: Path) -> None:
    import inspect

    from studio.core.catalog import BASE_FIELDS, SPECS
    from studio.sdk.smtp import EmailOperator, SmtpNotifier
    from tests.oracle.airflow_env import airflow_env, airflow_python

    proc = subprocess.run(
        [str(airflow_python()), "-c", SIGNATURES], capture_output=True, text=True, env=airflow_env(tmp_path),
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for cls in (EmailOperator, SmtpNotifier):
        expected = theirs[cls.__name__]
        assert list(cls.template_fields) == expected["template_fields"]
        assert list(cls.template_ext) == expected["template_ext"]
        params = inspect.signature(cls.__init__).parameters
        ours = {n: repr(p.default) for n, p in params.items() if n not in ("self", "kwargs")}
        assert ours == expected["params"]
    (spec,) = [s for s in SPECS if s.id == "EmailOperator"]
    own = {f.name for f in spec.fields} - {f.name for f in BASE_FIELDS}
    provider = theirs["EmailOperator"]
    assert own <= set(provider["params"])
    assert {f.name for f in spec.fields if f.templated and f.name in own} == own & set(provider["template_fields"])
    for field in spec.fields:
        if field.name in own and field.has_default:
            assert repr(field.default) == provider["params"][field.name], field.name
