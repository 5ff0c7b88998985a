"""Alert routing kept in Prefect, where its UI shows and edits it: `logcast alerts add` saves a
notification block (a custom webhook, a Slack webhook or SendGrid email) and an automation
whose event trigger matches the incident events (`flows.alerts`) at or above a severity and
sends the block a notification naming the incident and its probable cause."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import urlparse

from schemas.forecasts import SEVERITIES
from transforms.alerts import EVENT_PREFIX, KINDS, RESOURCE_PREFIX

PREFIX = "logcast-"
"""The automation and its block are named `logcast-<name>`."""
TAG = "logcast"
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
SLACK_URL = re.compile(r"https://hooks\.slack(-gov)?\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/\w+/?")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

SUBJECT = (
    "logcast: {{ event.payload.severity }} incident {{ event.payload.change }} on "
    "{{ event.payload.service }} {{ event.payload.endpoint }}"
)
BODY = """\
{{ event.payload.service }} {{ event.payload.endpoint }}: {{ event.payload.severity }} \
incident {{ event.payload.change }}
Cause: {{ event.payload.probable_cause or event.payload.note }}
Endpoints: {{ event.payload.endpoints | join(", ") }}
{% if event.payload.impact %}Impact: {{ event.payload.impact }}
{% endif %}Metrics: {{ event.payload.metrics | join(", ") }}
Started: {{ event.payload.start }}\
{% if event.payload.resolved_at %}, over by {{ event.payload.resolved_at }}{% endif %}
Report: {{ event.payload.report }}
Incident: {{ event.payload.incident_id }}"""
WEBHOOK_JSON = {"subject": "{{subject}}", "body": "{{body}}", "text": "{{subject}}\n{{body}}"}
"""The JSON a --webhook receives: the rendered subject and body (severity, cause, ...)."""
TARGETS = {
    "custom-webhook": "webhook",
    "slack-webhook": "slack",
    "sendgrid-email": "email",
}


class AlertError(ValueError):
    """A rule that cannot be made, or no Prefect server to keep it: one sentence."""


@dataclass(frozen=True)
class Target:
    """Where notifications go: `webhook` (any HTTP endpoint, JSON POST), `slack` (an incoming
    webhook) or `email` (through SendGrid)."""

    kind: str
    address: str

    def check(self) -> None:
        if self.kind == "webhook":
            url = urlparse(self.address)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise AlertError(
                    f"--webhook expects an http:// or https:// URL, got {self.address!r}"
                )
        elif self.kind == "slack":
            if not SLACK_URL.fullmatch(self.address):
                raise AlertError(
                    "--slack-webhook expects a Slack incoming webhook URL like "
                    f"https://hooks.slack.com/services/T000/B000/XXXX, got {self.address!r}"
                )
        elif self.kind == "email":
            if not EMAIL.fullmatch(self.address):
                raise AlertError(
                    f"--email expects an address like ops@example.com, got {self.address!r}"
                )
            if not os.environ.get("SENDGRID_API_KEY"):
                raise AlertError(
                    "--email sends through SendGrid, Prefect's built-in email block: set "
                    "SENDGRID_API_KEY (and LOGCAST_ALERTS_SENDER, the From address); plain SMTP "
                    "needs the prefect-email package, which logcast does not install"
                )
        else:
            raise AlertError(f"unknown alert target {self.kind!r}")

    def block(self, name: str):
        """The Prefect notification block that sends to this target."""
        from prefect.blocks.notifications import (
            CustomWebhookNotificationBlock,
            SendgridEmail,
            SlackWebhook,
        )

        if self.kind == "webhook":
            return CustomWebhookNotificationBlock(
                name=name, url=self.address, json_data=dict(WEBHOOK_JSON)
            )
        if self.kind == "slack":
            return SlackWebhook(url=self.address)
        sender = os.environ.get("LOGCAST_ALERTS_SENDER") or self.address
        return SendgridEmail(
            api_key=os.environ["SENDGRID_API_KEY"], sender_email=sender, to_emails=[self.address]
        )


def severities_from(minimum: str) -> list[str]:
    if minimum not in SEVERITIES:
        raise AlertError(f"--min-severity expects one of {', '.join(SEVERITIES)}, got {minimum!r}")
    return SEVERITIES[SEVERITIES.index(minimum) :]


def default_name(target: Target, minimum: str) -> str:
    return f"{target.kind}-{minimum}"


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise AlertError(
            f"an alert name is lower-case letters, digits and dashes (at most 63), got {name!r}"
        )


@contextmanager
def prefect_client() -> Iterator:
    """A client of the server PREFECT_API_URL names; AlertError when none is named or it does
    not answer."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        raise AlertError(
            "alerts live on a Prefect server: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError

    try:
        with get_client(sync_client=True) as client:
            if client.api_healthcheck() is not None:
                raise AlertError(f"no Prefect server answers at {url} (PREFECT_API_URL)")
            yield client
    except (httpx.HTTPError, OSError) as exc:
        raise AlertError(f"no Prefect server answers at {url} (PREFECT_API_URL): {exc}") from None
    except PrefectHTTPStatusError as exc:
        raise AlertError(f"the Prefect server at {url} refused the request: {exc}") from None


def trigger(minimum: str):
    """An event trigger on every incident event of the given severity or above, one firing
    per event."""
    from prefect.events.schemas.automations import EventTrigger, Posture

    return EventTrigger(
        expect={f"{EVENT_PREFIX}.{kind}" for kind in KINDS},
        match={
            "prefect.resource.id": f"{RESOURCE_PREFIX}*",
            "logcast.severity": severities_from(minimum),
        },
        for_each={"logcast.incident"},
        posture=Posture.Reactive,
        threshold=1,
    )


def add_alert(target: Target, minimum: str = "high", name: str | None = None) -> str:
    """Saves the notification block and the automation routing incident events of `minimum`
    severity or above to it; returns the automation's name."""
    target.check()
    severities_from(minimum)
    name = name or default_name(target, minimum)
    _check_name(name)
    full = f"{PREFIX}{name}"
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore

    with prefect_client() as client:
        if client.read_automations_by_name(full):
            raise AlertError(
                f"an alert named {name!r} exists: remove it with `logcast alerts remove {name}` "
                "or pick another --name"
            )
        block = target.block(full)
        block_id = block.save(full, overwrite=True)
        automation = AutomationCore(
            name=full,
            description=(
                f"logcast incidents of severity {minimum} or above to {target.kind} "
                f"{_shown(target)}"
            ),
            tags=[TAG],
            trigger=trigger(minimum),
            actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODY)],
        )
        client.create_automation(automation)
    return full


def _shown(target: Target) -> str:
    """The target as it may be printed: a Slack or SendGrid secret is not."""
    if target.kind == "slack":
        return "https://hooks.slack.com/services/…"
    return target.address


@dataclass(frozen=True)
class AlertRule:
    name: str
    target: str
    min_severity: str
    enabled: bool
    description: str


def list_alerts() -> list[AlertRule]:
    """The automations `add_alert` made, by name."""
    out = []
    with prefect_client() as client:
        for automation in client.read_automations():
            if TAG not in automation.tags or not automation.name.startswith(PREFIX):
                continue
            labels = (
                automation.trigger.match.model_dump()
                if hasattr(automation.trigger, "match")
                else {}
            )
            wanted = labels.get("logcast.severity") or list(SEVERITIES)
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            target = "?"
            for action in automation.actions:
                block_id = getattr(action, "block_document_id", None)
                if block_id is not None:
                    document = client.read_block_document(block_id)
                    target = TARGETS.get(document.block_type.slug, document.block_type.slug)
            out.append(
                AlertRule(
                    name=automation.name.removeprefix(PREFIX),
                    target=target,
                    min_severity=min(wanted, key=SEVERITIES.index),
                    enabled=automation.enabled,
                    description=automation.description,
                )
            )
    return sorted(out, key=lambda rule: rule.name)


def remove_alert(name: str) -> None:
    """Deletes the automation `logcast-<name>` and its notification block."""
    full = f"{PREFIX}{name}"
    from prefect.exceptions import ObjectNotFound

    with prefect_client() as client:
        found = client.read_automations_by_name(full)
        if not found:
            known = ", ".join(rule.name for rule in list_alerts()) or "none"
            raise AlertError(f"no alert named {name!r} (alerts: {known})")
        for automation in found:
            client.delete_automation(automation.id)
            for action in automation.actions:
                block_id = getattr(action, "block_document_id", None)
                if block_id is not None:
                    with suppress(ObjectNotFound):  # removed by hand in the UI already
                        client.delete_block_document(block_id)
