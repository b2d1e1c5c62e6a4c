"""Alert rules and channels: parsing, evaluation, and deliveries to real loopback servers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from _servers import free_port
from loopml.errors import ValidationError
from loopml.monitoring import Notification, deliver, parse_channel, parse_rule


def test_rule_parsing_with_severity_and_windows():
    rule = parse_rule("critical: rmse > 8 for 2 windows")
    assert (rule.metric, rule.op, rule.value, rule.windows, rule.severity) == (
        "rmse",
        ">",
        8.0,
        2,
        "critical",
    )
    plain = parse_rule("drift_share >= 0.5")
    assert (plain.windows, plain.severity) == (1, "warning")
    assert parse_rule("drift_score.bmi<=1e-3").value == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("rmse >> 8", "is not valid"),
        ("rmse > eight", "is not valid"),
        ("urgent: rmse > 8", "severity 'urgent'"),
        ("rmse > 8 for 0 windows", "N >= 1"),
        ("", "is not valid"),
    ],
)
def test_bad_rules_are_refused_with_the_syntax(text, needle):
    with pytest.raises(ValidationError, match=needle):
        parse_rule(text)


def test_rule_evaluation_needs_every_recent_window():
    rule = parse_rule("rmse > 8 for 2 windows")
    assert not rule.evaluate([{"rmse": 9.0}])  # too few windows yet
    assert not rule.evaluate([{"rmse": 7.0}, {"rmse": 9.0}])
    assert rule.evaluate([{"rmse": 7.0}, {"rmse": 9.0}, {"rmse": 8.5}])
    assert not rule.evaluate([{"rmse": 9.0}, {"mae": 9.0}])  # missing metric never holds
    assert not parse_rule("rmse > 1").holds({"rmse": float("nan")})


def test_channel_specs():
    assert parse_channel("log") == {"kind": "log"}
    assert parse_channel("webhook=http://x/y") == {"kind": "webhook", "url": "http://x/y"}
    email = parse_channel("email=a@x.org, b@y.org")
    assert email["to"] == ["a@x.org", "b@y.org"]
    for bad, needle in [
        ("pager=1", "not valid"),
        ("webhook=ftp://x", "http"),
        ("email=nobody", "not an e-mail"),
        ("slack", "needs a target"),
    ]:
        with pytest.raises(ValidationError, match=needle):
            parse_channel(bad)


NOTE = Notification("fired", "mon", "dep", "drift_share >= 0.5", "critical", 0.8, "msg", 7)


class _Sink:
    """A real HTTP server on loopback that records JSON bodies; fails the first N calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict] = []
        self.calls = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                sink.calls += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if sink.calls <= fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                sink.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_webhook_json_and_slack_payloads():
    sink = _Sink()
    try:
        assert deliver(parse_channel(f"webhook={sink.url}"), NOTE) == (True, 1, None)
        assert deliver(parse_channel(f"slack={sink.url}"), NOTE) == (True, 1, None)
    finally:
        sink.close()
    payload, slack = sink.bodies
    assert payload["rule"] == "drift_share >= 0.5" and payload["value"] == 0.8
    assert payload["alert_id"] == 7 and payload["event"] == "fired"
    assert set(slack) == {"text"} and "[CRITICAL]" in slack["text"]


def test_webhook_is_retried_and_failure_is_reported_not_raised():
    sink = _Sink(fail_first=2)
    try:
        ok, attempts, error = deliver(parse_channel(f"webhook={sink.url}"), NOTE, backoff=0.01)
        assert (ok, attempts, error) == (True, 3, None)
        assert sink.calls == 3
    finally:
        sink.close()
    dead = f"webhook=http://127.0.0.1:{free_port()}/gone"
    ok, attempts, error = deliver(parse_channel(dead), NOTE, attempts=2, backoff=0.01)
    assert not ok and attempts == 2 and "ConnectError" in error


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


def test_email_through_a_real_smtp_server(monkeypatch):
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("LOOPML_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("LOOPML_SMTP_PORT", str(port))
        monkeypatch.setenv("LOOPML_SMTP_FROM", "alerts@loopml.dev")
        assert deliver(parse_channel("email=ops@x.org"), NOTE) == (True, 1, None)
    finally:
        controller.stop()
    ((sender, to, content),) = inbox.messages
    assert sender == "alerts@loopml.dev" and to == ["ops@x.org"]
    assert "Subject: [CRITICAL] loopml monitor mon (dep)" in content
    assert "rule: drift_share >= 0.5" in content
