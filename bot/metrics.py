"""Prometheus metrics, one registry per app instance (tests build several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


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
        self.request_seconds = Histogram(
            "whatconverts_slack_request_seconds",
            "Time to answer a Slack request",
            registry=self.registry,
        )
