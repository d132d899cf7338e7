"""Prometheus metrics, one registry per app instance (tests build several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The counters and histograms operators scrape at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "whatconverts_http_requests",
            "HTTP requests served, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.slack_events_deduplicated = Counter(
            "whatconverts_slack_events_deduplicated",
            "Events API redeliveries dropped because the event_id was already handled",
            registry=self.registry,
        )
        self.slack_token_refreshes = Counter(
            "whatconverts_slack_token_refreshes",
            "Slack bot token refreshes, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.installations = Counter(
            "whatconverts_slack_installations",
            "Slack installs and uninstalls",
            ["event"],
            registry=self.registry,
        )
        self.leads_polled = Counter(
            "whatconverts_leads_polled", "Leads returned by WhatConverts polls", registry=self.registry
        )
        self.poll_errors = Counter(
            "whatconverts_poll_errors", "Failed polls, by error type", ["kind"], registry=self.registry
        )
        self.poll_leases_lost = Counter(
            "whatconverts_poll_leases_lost",
            "Polls discarded because their lease expired before they finished",
            registry=self.registry,
        )
        self.lead_fields_unreadable = Counter(
            "whatconverts_lead_fields_unreadable",
            "Lead fields WhatConverts sent that couldn't be read (each lead counted once), by field",
            ["field"],
            registry=self.registry,
        )
        self.deliveries_enqueued = Counter(
            "whatconverts_deliveries_enqueued", "Lead cards queued, by path", ["path"], registry=self.registry
        )
        self.deliveries_sent = Counter("whatconverts_deliveries_sent", "Lead cards posted", registry=self.registry)
        self.webhook_misses = Counter(
            "whatconverts_webhook_misses",
            "Profiles found by a poll not to send every new lead by webhook (polled at the normal pace after)",
            registry=self.registry,
        )
        self.cards_updated = Counter(
            "whatconverts_cards_updated", "Lead cards edited in place after the lead changed", registry=self.registry
        )
        self.lead_claims = Counter(
            "whatconverts_lead_claims",
            "Leads taken, released and handed over from their cards",
            ["action"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "whatconverts_webhooks", "WhatConverts webhook posts, by outcome", ["outcome"], registry=self.registry
        )
        self.deliveries_retried = Counter(
            "whatconverts_deliveries_retried", "Sends to retry later, by reason", ["reason"], registry=self.registry
        )
        self.deliveries_failed = Counter(
            "whatconverts_deliveries_failed", "Sends given up, by reason", ["reason"], registry=self.registry
        )
        self.deliveries_uncertain = Counter(
            "whatconverts_deliveries_uncertain",
            "Sends repeated after an unknown outcome (crash or timeout mid-send): possible duplicates",
            registry=self.registry,
        )
        self.escalations = Counter(
            "whatconverts_escalations",
            "Overdue-lead reminders (+sla) by outcome: sent, claimed (closed: someone took the lead), held, "
            "retried, stopped, failed",
            ["outcome"],
            registry=self.registry,
        )
        self.slack_rate_limited = Counter(
            "whatconverts_slack_rate_limited", "429 answers from Slack", registry=self.registry
        )
        self.background_restarts = Counter(
            "whatconverts_background_restarts",
            "Long-lived background tasks found stopped and started again, by task",
            ["task"],
            registry=self.registry,
        )
        self.tick_failures = Counter(
            "whatconverts_tick_failures",
            "Scheduler ticks that raised (kind=error) or ran past their time limit and were cut (kind=timeout)",
            ["job", "kind"],
            registry=self.registry,
        )
        self.tick_last_success = Gauge(
            "whatconverts_tick_last_success_timestamp_seconds",
            "When a tick of each scheduler job last finished without error (Unix time)",
            ["job"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "whatconverts_slack_request_seconds",
            "Time to answer a Slack request",
            registry=self.registry,
        )
