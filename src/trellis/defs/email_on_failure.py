"""``make_email_on_run_failure_sensor``: a run failure sensor that emails each failed run
(Dagster's name and arguments), over SMTP with TLS (``smtp_type="SSL"``: TLS from the
start, port 465 by default; ``"STARTTLS"``: upgraded, port 587 by default), logging in
as ``smtp_user`` (default ``email_from``) with ``email_password``.

The subject and the HTML body come from ``email_subject_fn(context)`` and
``email_body_fn(context)`` (a ``RunFailureSensorContext``); the default body names the
job, the run and the failure, escaped, and links the run's page in ``trellis dev`` when
``webserver_base_url`` is given. A failure to connect, to log in or to send raises from
the sensor's function, so the daemon records it on the tick with its traceback (and the
cursor does not move past the run: the next tick tries again).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.core.run import RunStatus
from trellis.defs.run_status_sensor import RunStatusSensorDefinition
from trellis.defs.sensor import DefaultSensorStatus

SMTP_TYPES = {"SSL": 465, "STARTTLS": 587}
"""The ``smtp_type`` values and their default ports."""


def default_email_subject(context: Any) -> str:
    """``Trellis run failed: JOB``."""
    return f"Trellis run failed: {context.dagster_run.job_name}"


def default_email_body(context: Any, webserver_base_url: str | None = None) -> str:
    """An HTML body naming the job, the run, the failure message and (with
    ``webserver_base_url``) a link to the run's page; every value escaped."""
    run = context.dagster_run
    event = context.failure_event
    message = getattr(event, "message", None) or "The run failed."
    parts = [
        f"<p>Run <code>{html.escape(run.run_id)}</code> of job "
        f"<b>{html.escape(run.job_name)}</b> failed.</p>",
        f"<pre>{html.escape(message)}</pre>",
    ]
    for step_event in context.get_step_failure_events():
        step = getattr(step_event, "step_key", None) or ""
        text = getattr(step_event, "message", "") or ""
        parts.append(f"<p>Step <code>{html.escape(step)}</code>:</p><pre>{html.escape(text)}</pre>")
    if webserver_base_url:
        link = f"{webserver_base_url.rstrip('/')}/runs/{run.run_id}"
        parts.append(f'<p><a href="{html.escape(link, quote=True)}">Open the run</a></p>')
    return "\n".join(parts)


def send_email(
    *,
    host: str,
    port: int,
    smtp_type: str,
    user: str,
    password: str,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    html_body: str,
) -> None:
    """Send one HTML email over TLS (``smtp_type`` ``SSL`` or ``STARTTLS``), logging in
    first; the server's certificate is verified against the system's trusted roots."""
    import smtplib  # lazily: only a sensor that sends loads it
    import ssl
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content("This message is HTML; open it in a mail reader that shows HTML.")
    message.add_alternative(html_body, subtype="html")
    context = ssl.create_default_context()
    server: smtplib.SMTP
    if smtp_type == "SSL":
        server = smtplib.SMTP_SSL(host, port, context=context, timeout=30)
    else:
        server = smtplib.SMTP(host, port, timeout=30)
    with server:
        if smtp_type == "STARTTLS":
            server.starttls(context=context)
        server.login(user, password)
        server.send_message(message, from_addr=sender, to_addrs=list(recipients))


def make_email_on_run_failure_sensor(
    email_from: str,
    email_password: str,
    email_to: Sequence[str],
    email_body_fn: Callable[[Any], str] | None = None,
    email_subject_fn: Callable[[Any], str] = default_email_subject,
    smtp_host: str = "smtp.gmail.com",
    smtp_type: str = "SSL",
    smtp_port: int | None = None,
    name: str | None = None,
    webserver_base_url: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    job_selection: Sequence[Any] | None = None,
    monitor_all_code_locations: bool = False,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    monitor_all_repositories: bool = False,
    smtp_user: str | None = None,
) -> RunStatusSensorDefinition:
    """A run failure sensor (``name``, default ``email_on_run_failure``) that emails
    ``email_to`` about each failed run of ``monitored_jobs`` (every job when None); see
    the module docstring."""
    owner = f"make_email_on_run_failure_sensor '{name or 'email_on_run_failure'}'"
    if smtp_type not in SMTP_TYPES:
        raise InvalidDefinitionError(
            f"{owner}: smtp_type must be 'SSL' or 'STARTTLS', got {smtp_type!r}."
        )
    if isinstance(email_to, str) or not email_to or not all(isinstance(a, str) for a in email_to):
        raise InvalidDefinitionError(
            f"{owner}: email_to must be a non-empty list of addresses, got {email_to!r}."
        )
    port = smtp_port if smtp_port is not None else SMTP_TYPES[smtp_type]
    recipients = list(email_to)

    def body(context: Any) -> str:
        if email_body_fn is not None:
            return email_body_fn(context)
        return default_email_body(context, webserver_base_url)

    def email_on_run_failure(context: Any) -> None:
        send_email(
            host=smtp_host,
            port=port,
            smtp_type=smtp_type,
            user=smtp_user or email_from,
            password=email_password,
            sender=email_from,
            recipients=recipients,
            subject=email_subject_fn(context),
            html_body=body(context),
        )

    return RunStatusSensorDefinition(
        name=name or "email_on_run_failure",
        run_status=RunStatus.FAILURE,
        run_status_sensor_fn=email_on_run_failure,
        monitored_jobs=monitored_jobs if monitored_jobs is not None else job_selection,
        monitor_all_code_locations=monitor_all_code_locations or monitor_all_repositories,
        default_status=default_status,
        _failure=True,
    )
