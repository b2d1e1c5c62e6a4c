"""Alert channels: log, webhook (JSON or Slack-compatible) and e-mail through SMTP.

A channel spec is a small dict stored with the monitor; ``parse_channel`` reads the CLI
form (``log``, ``webhook=URL``, ``slack=URL``, ``email=a@x.org,b@y.org``). Deliveries are
retried with backoff and never raise: the caller records the outcome.
"""

from __future__ import annotations

import logging
import os
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from loopml.errors import ValidationError

log = logging.getLogger("loopml.alerts")
KINDS = ("log", "webhook", "slack", "email")


@dataclass(frozen=True)
class Notification:
    """What an alert event says, whatever the channel."""

    event: str  # fired | resolved
    monitor: str
    deployment: str
    rule: str
    severity: str
    value: float | None
    message: str
    alert_id: int
    report_uri: str | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON body of a webhook."""
        return {
            "event": self.event,
            "monitor": self.monitor,
            "deployment": self.deployment,
            "rule": self.rule,
            "severity": self.severity,
            "value": self.value,
            "message": self.message,
            "alert_id": self.alert_id,
            "report": self.report_uri,
        }

    def text(self) -> str:
        """A one-line human summary (Slack text, e-mail subject, log line)."""
        icon = "RESOLVED" if self.event == "resolved" else self.severity.upper()
        return f"[{icon}] loopml monitor {self.monitor} ({self.deployment}): {self.message}"


def parse_channel(spec: str) -> dict[str, Any]:
    """``log`` | ``webhook=URL`` | ``slack=URL`` | ``email=ADDR[,ADDR…]`` → channel dict.

    E-mail uses ``LOOPML_SMTP_HOST`` (default localhost), ``LOOPML_SMTP_PORT`` (25) and
    ``LOOPML_SMTP_FROM`` (loopml@localhost) at creation time.
    """
    kind, _, target = spec.partition("=")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ValidationError(
            f"channel {spec!r} is not valid; use log, webhook=URL, slack=URL or email=ADDRESS"
        )
    if kind == "log":
        return {"kind": "log"}
    if not target:
        raise ValidationError(f"channel {spec!r} needs a target after '=', e.g. {kind}=…")
    if kind in ("webhook", "slack"):
        if not target.startswith(("http://", "https://")):
            raise ValidationError(f"channel {spec!r}: the URL must start with http:// or https://")
        return {"kind": kind, "url": target}
    to = [a.strip() for a in target.split(",") if a.strip()]
    bad = [a for a in to if "@" not in a]
    if bad:
        raise ValidationError(f"channel {spec!r}: {', '.join(bad)} is not an e-mail address")
    return {
        "kind": "email",
        "to": to,
        "host": os.environ.get("LOOPML_SMTP_HOST", "localhost"),
        "port": int(os.environ.get("LOOPML_SMTP_PORT", "25")),
        "sender": os.environ.get("LOOPML_SMTP_FROM", "loopml@localhost"),
    }


def describe_channel(channel: dict[str, Any]) -> str:
    """A short name for listings and delivery records."""
    kind = channel["kind"]
    if kind == "log":
        return "log"
    if kind == "email":
        return f"email:{','.join(channel['to'])}"
    return f"{kind}:{channel['url']}"


def _send(channel: dict[str, Any], note: Notification, timeout: float) -> None:
    kind = channel["kind"]
    if kind == "log":
        level = logging.ERROR if note.severity == "critical" else logging.WARNING
        log.log(logging.INFO if note.event == "resolved" else level, note.text())
    elif kind in ("webhook", "slack"):
        body = {"text": note.text()} if kind == "slack" else note.payload()
        response = httpx.post(channel["url"], json=body, timeout=timeout)
        if response.status_code >= 300:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
    else:
        msg = EmailMessage()
        msg["Subject"] = note.text()
        msg["From"] = channel["sender"]
        msg["To"] = ", ".join(channel["to"])
        lines = [f"{k}: {v}" for k, v in note.payload().items()]
        msg.set_content("\n".join(lines) + "\n")
        with smtplib.SMTP(channel["host"], channel["port"], timeout=timeout) as smtp:
            smtp.send_message(msg)


def deliver(
    channel: dict[str, Any],
    note: Notification,
    attempts: int = 3,
    backoff: float = 0.5,
    timeout: float = 10.0,
) -> tuple[bool, int, str | None]:
    """Send with retries; returns (delivered, attempts made, last error)."""
    error = None
    for attempt in range(1, attempts + 1):
        try:
            _send(channel, note, timeout)
            return True, attempt, None
        except Exception as exc:  # a failing channel must never break monitoring
            error = f"{type(exc).__name__}: {exc}"
            log.warning("delivery to %s failed (%s)", describe_channel(channel), error)
            if attempt < attempts:
                time.sleep(backoff * 2 ** (attempt - 1))
    return False, attempts, error
