"""Speed to lead, the pure arithmetic: nearest-rank median and p90, shares, top people and sources,
and the lines stats and digests show (the digest's from a seeded history: tests/alerts/test_digests.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from bot.alerts.digest_messages import digest_message
from bot.alerts.speed import Arrival, FirstClaim, measure, nearest_rank, speed_lines

T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def minutes(*values: int) -> list[timedelta]:
    return [v * MIN for v in values]


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        ([], None, None),
        ([7], 7, 7),
        ([4, 2], 2, 4),  # nearest rank: a time some lead really took, never 3
        ([1, 2, 3, 4], 2, 4),
        ([10, 1, 9, 2, 8, 3, 7, 4, 6, 5], 5, 9),
        (list(range(1, 21)), 10, 18),
    ],
)
def test_nearest_rank(values: list[int], median: int | None, p90: int | None) -> None:
    times = minutes(*values)
    assert nearest_rank(times, 0.5) == (median * MIN if median is not None else None)
    assert nearest_rank(times, 0.9) == (p90 * MIN if p90 is not None else None)


def test_measure_counts_each_lead_once_and_never_a_negative_time() -> None:
    arrivals = [Arrival(1, T0, "google"), Arrival(1, T0, "google"), Arrival(2, T0, "bing"), Arrival(3, T0, "bing")]
    claims = {
        1: FirstClaim("U1", T0 - timedelta(seconds=2)),  # two clocks a little apart
        2: FirstClaim("U2", T0 + 30 * MIN),
        9: FirstClaim("U3", T0),  # not among the posted leads: not counted
    }

    speed = measure(arrivals, claims)

    assert (speed.posted, speed.claimed, speed.median, speed.p90) == (3, 2, timedelta(0), 30 * MIN)
    assert [(g.name, g.posted, g.claimed, g.median) for g in speed.sources] == [
        ("bing", 2, 1, 30 * MIN), ("google", 1, 1, timedelta(0)),
    ]  # fmt: skip
    assert [(g.name, g.claimed) for g in speed.people] == [("U1", 1), ("U2", 1)]


def test_only_the_top_people_and_sources_and_lead_text_is_escaped() -> None:
    arrivals = [Arrival(n, T0, f"<!channel> src{n % 5}") for n in range(20)]
    claims = {n: FirstClaim(f"U{n % 4}", T0 + n * MIN) for n in range(20)}

    lines = speed_lines(measure(arrivals, claims))

    head = "*Speed to lead:* 20 of 20 posted leads claimed (100%) · time to claim: median 9 min · p90 17 min"
    assert lines[0] == head
    assert lines[1].count("<@U") == 3 and lines[2].count(" of 4") == 3
    assert "<!channel>" not in "\n".join(lines) and "&lt;!channel&gt; src0 4 of 4" in lines[2]
    message = digest_message([], channel_id="C1", speed=measure(arrivals, claims))
    for block in Block.parse_all(message["blocks"]):
        block.validate_json()
