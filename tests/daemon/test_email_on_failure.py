"""``make_email_on_run_failure_sensor`` against a real SMTP server (aiosmtpd) over TLS
with a login: each failed run is mailed once, its text escaped; a refused login fails
the tick and leaves the run to the next one; bad arguments are definition errors."""

from __future__ import annotations

import email
import socket
import subprocess
from email import policy

import pytest

from trellis import (
    DefaultSensorStatus,
    build_sensor_context,
    job,
    make_email_on_run_failure_sensor,
    op,
)
from trellis.core.errors import InvalidDefinitionError, SensorExecutionError
from trellis.instance.instance import Instance

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

PASSWORD = "s3cret"


@op
def breaks() -> None:
    raise RuntimeError("<script>alert('x')</script> broke")


@op
def works() -> None:
    pass


@job
def fragile():
    breaks()


@job
def sturdy():
    works()


class _Inbox:
    """An aiosmtpd handler that keeps each message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (the client trusts it by SSL_CERT_FILE)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(params=["SSL", "STARTTLS"])
def smtp(request, certificate, monkeypatch):
    """A running SMTP server over TLS (from the start, or upgraded) that needs a login."""
    import ssl

    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = _Inbox()
    port = _free_port()
    tls = {"ssl_context": context} if request.param == "SSL" else {"tls_context": context}
    controller = aiosmtpd_controller.Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        # aiosmtpd counts only STARTTLS as TLS; SSL's connection is encrypted from the start.
        auth_require_tls=request.param == "STARTTLS",
        **tls,
    )
    controller.start()
    try:
        yield request.param, port, inbox
    finally:
        controller.stop()


@pytest.fixture
def instance(tmp_path):
    with Instance.from_config(tmp_path / "home", None) as inst:
        yield inst


def _sensor(smtp_type: str, port: int, password: str = PASSWORD, **kwargs):
    return make_email_on_run_failure_sensor(
        email_from="trellis@example.com",
        email_password=password,
        email_to=["oncall@example.com", "data@example.com"],
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_type=smtp_type,
        **kwargs,
    )


def test_each_failed_run_is_emailed_once_with_its_failure_escaped(smtp, instance):
    smtp_type, port, inbox = smtp
    sensor = _sensor(
        smtp_type, port, monitored_jobs=[fragile], webserver_base_url="http://127.0.0.1:3000/"
    )
    assert sensor.name == "email_on_run_failure"
    assert sensor.default_status is DefaultSensorStatus.STOPPED
    cursor = sensor.evaluate_tick(build_sensor_context(instance=instance)).cursor
    failed = fragile.execute_in_process(instance=instance, raise_on_error=False).run_id
    sturdy.execute_in_process(instance=instance)  # succeeded: no email
    tick = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
    assert len(inbox.messages) == 1
    sender, recipients, message = inbox.messages[0]
    assert sender == "trellis@example.com"
    assert recipients == ["oncall@example.com", "data@example.com"]
    assert message["Subject"] == "Trellis run failed: fragile"
    body = message.get_body(preferencelist=("html",)).get_content()
    assert failed in body
    assert "&lt;script&gt;" in body and "<script>" not in body
    assert f'href="http://127.0.0.1:3000/runs/{failed}"' in body
    sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=tick.cursor))
    assert len(inbox.messages) == 1  # not again


def test_a_refused_login_fails_the_tick_and_the_run_is_mailed_later(smtp, instance):
    smtp_type, port, inbox = smtp
    wrong = _sensor(smtp_type, port, password="wrong")
    cursor = wrong.evaluate_tick(build_sensor_context(instance=instance)).cursor
    failed = fragile.execute_in_process(instance=instance, raise_on_error=False).run_id
    with pytest.raises(SensorExecutionError, match=r"(?i)authentication"):
        wrong.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
    assert inbox.messages == []
    fixed = _sensor(
        smtp_type,
        port,
        email_subject_fn=lambda context: f"Failed: {context.dagster_run.run_id}",
        email_body_fn=lambda context: "<p>custom</p>",
    )
    fixed.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
    [(_, _, message)] = inbox.messages
    assert message["Subject"] == f"Failed: {failed}"
    assert message.get_body(preferencelist=("html",)).get_content().strip() == "<p>custom</p>"


def test_bad_arguments_are_definition_errors():
    with pytest.raises(InvalidDefinitionError, match="smtp_type must be 'SSL' or 'STARTTLS'"):
        _sensor("PLAIN", 25)
    with pytest.raises(InvalidDefinitionError, match="email_to must be a non-empty list"):
        make_email_on_run_failure_sensor("a@example.com", "pw", "b@example.com")
