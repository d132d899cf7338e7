"""Self-test of the loopback Slack fake, driven by the real slack_sdk AsyncWebClient.

If these fail, tests built on ``tests.fakes`` cannot be trusted, so they pin down the parts of
Slack's behaviour the app depends on: OAuth exchange, token rotation, posting state, errors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.signing import SlackSigner, command_body, event_body, interaction_body
from tests.fakes.slack import FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def client(fake: FakeSlack, token: str | None = None, **kw: object) -> AsyncWebClient:
    return AsyncWebClient(base_url=fake.api_url, token=token, **kw)


# slack_sdk's AsyncWebClient.oauth_v2_access builds an aiohttp.BasicAuth, which aiohttp 3.14
# deprecates; only the tests that exercise that SDK path tolerate the warning.
SDK_BASIC_AUTH_WARNING = "ignore:BasicAuth is deprecated:DeprecationWarning"


async def oauth(fake: FakeSlack, secret: str | None = None, **fields: str) -> dict:
    """oauth.v2.access with client credentials as form fields (Slack's other accepted style)."""
    credentials = {"client_id": fake.client_id, "client_secret": secret or fake.client_secret}
    response = await client(fake).api_call("oauth.v2.access", data={**credentials, **fields})
    return response.data


@pytest.mark.asyncio
async def test_oauth_code_exchange_matches_slack_shape_and_code_is_single_use(fake: FakeSlack) -> None:
    fake.add_team("T1", "Acme")
    code = fake.issue_code(team_id="T1", installer_user_id="U1", scopes="commands,chat:write")

    body = await oauth(fake, code=code)

    assert body["ok"] is True
    assert body["authed_user"] == {"id": "U1"}
    assert body["token_type"] == "bot"
    assert body["access_token"].startswith("xoxb-")
    assert body["refresh_token"].startswith("xoxe-1-")
    assert body["expires_in"] == 43200
    assert body["scope"] == "commands,chat:write"
    assert body["team"] == {"id": "T1", "name": "Acme"}
    assert body["enterprise"] is None
    assert body["is_enterprise_install"] is False
    assert body["bot_user_id"] and body["app_id"]
    assert fake.calls_to("oauth.v2.access")[0].params["code"] == code

    auth = await client(fake, body["access_token"]).auth_test()
    assert (auth["team_id"], auth["user_id"]) == ("T1", body["bot_user_id"])
    assert auth["bot_id"].startswith("B")

    with pytest.raises(SlackApiError) as reused:
        await oauth(fake, code=code)
    assert reused.value.response["error"] == "invalid_code"
    with pytest.raises(SlackApiError) as bad_secret:
        await oauth(fake, secret="wrong", code=fake.issue_code())
    assert bad_secret.value.response["error"] == "invalid_client"


@pytest.mark.asyncio
async def test_refresh_rotates_both_tokens_and_invalidates_the_old_refresh_token(fake: FakeSlack) -> None:
    first = fake.install("T1")

    refreshed = await oauth(fake, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert refreshed["token_type"] == "bot"
    assert fake.refresh_count("T1") == 1

    with pytest.raises(SlackApiError) as reused:
        await oauth(fake, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.value.response["error"] == "invalid_refresh_token"
    assert fake.refresh_count() == 1


@pytest.mark.asyncio
@pytest.mark.filterwarnings(SDK_BASIC_AUTH_WARNING)
async def test_sdk_oauth_and_token_rotator_use_basic_auth(fake: FakeSlack) -> None:
    web = client(fake)
    body = await web.oauth_v2_access(client_id=fake.client_id, client_secret=fake.client_secret, code=fake.issue_code())
    assert fake.calls_to("oauth.v2.access")[-1].headers["authorization"].startswith("Basic ")

    # The SDK's own rotator is what scheduled posting uses; it must accept the fake's replies.
    bot = Bot(
        app_id=body["app_id"],
        team_id="T1",
        bot_token=body["access_token"],
        bot_refresh_token=body["refresh_token"],
        bot_token_expires_in=60,
        bot_id="B1",
        bot_user_id=body["bot_user_id"],
        installed_at=time.time(),
    )
    rotator = AsyncTokenRotator(client=web, client_id=fake.client_id, client_secret=fake.client_secret)
    rotated = await rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=120)
    assert rotated is not None and rotated.bot_refresh_token != body["refresh_token"]
    assert fake.refresh_count("T1") == 1
    with pytest.raises(SlackTokenRotationError) as reused:
        await rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=120)
    assert reused.value.api_error.response["error"] == "invalid_refresh_token"


@pytest.mark.asyncio
async def test_post_message_and_update_keep_channel_state(fake: FakeSlack) -> None:
    token = fake.install("T1")["access_token"]
    fake.add_channel("T1", "C1", name="leads")
    fake.add_channel("T1", "C2", is_member=False)
    web = client(fake, token)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*New lead*"}}]

    first = await web.chat_postMessage(channel="C1", text="New lead", blocks=blocks)
    second = await web.chat_postMessage(channel="C1", text="Another lead")
    assert first["channel"] == "C1"
    assert float(second["ts"]) > float(first["ts"])

    await web.chat_update(channel="C1", ts=first["ts"], text="Lead (updated)")
    stored = fake.messages("C1")
    assert [m["text"] for m in stored] == ["Lead (updated)", "Another lead"]
    assert stored[0]["blocks"] == blocks
    assert fake.calls_to("chat.postMessage")[0].params["blocks"] == blocks
    assert fake.calls_to("chat.postMessage")[0].token == token

    for kwargs, error in [
        ({"channel": "C404", "text": "x"}, "channel_not_found"),
        ({"channel": "C2", "text": "x"}, "not_in_channel"),
    ]:
        with pytest.raises(SlackApiError) as err:
            await web.chat_postMessage(**kwargs)
        assert err.value.response["error"] == error
    with pytest.raises(SlackApiError) as missing:
        await web.chat_update(channel="C1", ts="1.000000", text="x")
    assert missing.value.response["error"] == "message_not_found"


@pytest.mark.asyncio
async def test_read_only_and_thread_only_channels_refuse_the_apps_posts(fake: FakeSlack) -> None:
    """S8: posting restrictions are permanent for the channel, with Slack's own error names."""
    token = fake.install("T1")["access_token"]
    fake.add_channel("T1", "C1", name="announcements", read_only=True)
    fake.add_channel("T1", "C2", name="threads", thread_only=True)
    fake.add_channel("T1", "C3", name="leads")
    web = client(fake, token)
    parent = await web.chat_postMessage(channel="C3", text="parent")

    for channel, extra, error in [
        ("C1", {}, "restricted_action_read_only_channel"),
        ("C1", {"thread_ts": parent["ts"]}, "restricted_action_read_only_channel"),
        ("C2", {}, "restricted_action_thread_only_channel"),
    ]:
        with pytest.raises(SlackApiError) as err:
            await web.chat_postMessage(channel=channel, text="x", **extra)
        assert err.value.response["error"] == error
    assert (await web.chat_postMessage(channel="C2", text="reply", thread_ts="1.000000"))["ok"]
    assert fake.messages("C1") == []


@pytest.mark.asyncio
async def test_a_post_to_a_user_lands_in_the_apps_dm_whose_d_id_edits_and_threads_need(fake: FakeSlack) -> None:
    """chat.postMessage with a user id as channel posts in the app's DM (its Messages tab) and answers
    with the DM's D… id; edits and thread replies name that id, not the user."""
    web = client(fake, fake.install("T1")["access_token"])
    fake.add_user("T1", "U1")
    fake.add_user("T1", "U2")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*New lead*"}}]

    first = await web.chat_postMessage(channel="U2", text="New lead", blocks=blocks)
    second = await web.chat_postMessage(channel="U2", text="Another")
    other = await web.chat_postMessage(channel="U1", text="Yours")

    dm = fake.dm_channel("T1", "U2")
    assert dm.startswith("D") and first["channel"] == second["channel"] == dm
    assert other["channel"] == fake.dm_channel("T1", "U1") != dm
    assert fake.calls_to("chat.postMessage")[0].params["channel"] == "U2"  # what the app sent
    assert [m["text"] for m in fake.messages(dm)] == ["New lead", "Another"] == [m["text"] for m in fake.messages("U2")]

    for call in (
        web.chat_update(channel="U2", ts=first["ts"], text="x"),
        web.chat_postMessage(channel="U2", thread_ts=first["ts"], text="x"),
        web.chat_postMessage(channel="U404", text="nobody"),
    ):
        with pytest.raises(SlackApiError) as err:
            await call
        assert err.value.response["error"] == "channel_not_found"
    await web.chat_update(channel=dm, ts=first["ts"], text="New lead (updated)")
    await web.chat_postMessage(channel=dm, thread_ts=first["ts"], text="what changed")
    assert [m["text"] for m in fake.messages(dm)] == ["New lead (updated)", "Another", "what changed"]


@pytest.mark.asyncio
async def test_a_deactivated_user_is_deleted_in_users_info_and_their_dm_still_takes_posts(fake: FakeSlack) -> None:
    """As Slack: only users.info tells (slackapi/python-slack-sdk#1156), a post to them still succeeds."""
    web = client(fake, fake.install("T1")["access_token"])
    fake.add_user("T1", "U2")
    assert (await web.users_info(user="U2"))["user"]["deleted"] is False

    fake.deactivate_user("T1", "U2")

    assert (await web.users_info(user="U2"))["user"]["deleted"] is True
    posted = await web.chat_postMessage(channel="U2", text="into the void")
    assert posted["ok"] and posted["channel"] == fake.dm_channel("T1", "U2")
    fake.deactivate_user("T1", "U2", deleted=False)
    assert (await web.users_info(user="U2"))["user"]["deleted"] is False


@pytest.mark.asyncio
async def test_a_token_without_the_scope_gets_missing_scope(fake: FakeSlack) -> None:
    token = fake.install("T1")["access_token"]
    web = client(fake, token)
    fake.withdraw_scope("T1", "chat:write")

    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="C1", text="x")
    assert err.value.response["error"] == "missing_scope" and err.value.response["needed"] == "chat:write"
    assert "chat:write" not in err.value.response["provided"].split(",")
    assert (await web.auth_test())["ok"]  # the token works for what needs no such scope
    assert fake.messages("C1") == []


@pytest.mark.asyncio
async def test_rate_limit_next_raises_429_with_retry_after(fake: FakeSlack) -> None:
    web = client(fake, fake.install()["access_token"])
    fake.rate_limit_next("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="C1", text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"
    assert (await web.chat_postMessage(channel="C1", text="hi"))["ok"] is True


@pytest.mark.asyncio
async def test_channel_pacing_answers_429_when_a_channel_is_posted_too_fast(fake: FakeSlack) -> None:
    web = client(fake, fake.install()["access_token"])
    fake.enforce_channel_rate(per_second=1.0)

    await web.chat_postMessage(channel="C1", text="one")
    await web.chat_postMessage(channel="C2", text="other channel is paced separately")
    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="C1", text="two")
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) >= 1
    assert fake.rate_limited_count == 1


@pytest.mark.asyncio
async def test_fail_next_and_transport_faults(fake: FakeSlack) -> None:
    web = client(fake, fake.install()["access_token"])
    fake.fail_next("chat.postMessage", error="is_archived", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await web.chat_postMessage(channel="C1", text="x")
        assert err.value.response["error"] == "is_archived"

    fake.http_error_next("auth.test", status=503)
    with pytest.raises(SlackApiError) as upstream:
        await web.auth_test()
    assert upstream.value.response.status_code == 503

    fake.malformed_next("auth.test")
    with pytest.raises(SlackApiError):
        await web.auth_test()

    fake.delay_next("auth.test", seconds=2)
    with pytest.raises(asyncio.TimeoutError):
        await client(fake, web.token, timeout=0.2).auth_test()
    assert (await web.auth_test())["ok"] is True
    with pytest.raises(SlackApiError) as unknown:
        await web.api_call("no.such.method")
    assert unknown.value.response["error"] == "unknown_method"


@pytest.mark.asyncio
async def test_token_states(fake: FakeSlack) -> None:
    tokens = [fake.install()["access_token"] for _ in range(3)]
    fake.expire_token(tokens[1])
    fake.revoke_token(tokens[2])
    for token, error in [
        ("xoxb-not-a-real-token", "invalid_auth"),
        (tokens[1], "token_expired"),
        (tokens[2], "token_revoked"),
    ]:
        with pytest.raises(SlackApiError) as err:
            await client(fake, token).auth_test()
        assert err.value.response["error"] == error
    assert (await client(fake, tokens[0]).auth_test())["ok"] is True

    fake.revoke_team("T1")
    with pytest.raises(SlackApiError) as revoked:
        await client(fake, tokens[0]).auth_test()
    assert revoked.value.response["error"] == "token_revoked"


@pytest.mark.asyncio
async def test_users_views_and_response_url(fake: FakeSlack) -> None:
    web = client(fake, fake.install()["access_token"])
    fake.add_user("T1", "U1", is_admin=True, tz="Europe/Berlin")

    user = (await web.users_info(user="U1"))["user"]
    assert (user["id"], user["team_id"], user["is_admin"], user["tz"]) == ("U1", "T1", True, "Europe/Berlin")
    assert user["is_bot"] is False
    with pytest.raises(SlackApiError):
        await web.users_info(user="U404")

    await web.views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}]})
    published = fake.published_view("U1")
    assert published is not None and published["type"] == "home"

    async with httpx.AsyncClient() as http:
        reply = await http.post(fake.response_url(), json={"text": "done", "response_type": "ephemeral"})
    assert reply.status_code == 200
    assert fake.calls_to("response_url")[0].params["text"] == "done"


def test_signed_bodies_verify_with_slack_sdk() -> None:
    signer = SlackSigner("shh")
    verifier = SignatureVerifier("shh")
    for body, content_type in [
        command_body("status", response_url="http://127.0.0.1:1/hooks/T1/1/abc"),
        event_body({"type": "app_home_opened", "user": "U1", "tab": "home"}),
        interaction_body({"type": "block_actions", "actions": []}),
    ]:
        headers = signer.headers(body)
        assert verifier.is_valid_request(body, headers)
        assert content_type in ("application/x-www-form-urlencoded", "application/json")
    stale = signer.headers("x", timestamp=1)
    assert not verifier.is_valid_request("x", stale)
