"""Pure builders for our few web pages (landing, install result, connect form, errors). Everything shown is escaped."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from bot.whatconverts.paths import MASTER_API_KEYS, PROFILE_API_KEYS

_STYLE = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;background:#f6f7f9;
color:#1d1c1d;margin:0}
main{max-width:34rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem 2.5rem;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}label{display:block;font-weight:600;margin:1rem 0 .3rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #bbb;
border-radius:4px;font-size:1rem}
button{margin-top:1.5rem;background:#1d4f91;color:#fff;border:0;border-radius:4px;padding:.7rem 1.4rem;
font-size:1rem;cursor:pointer}
.error{background:#fdecea;border:1px solid #f5c2c0;padding:.75rem;border-radius:4px;color:#8a1c1c}
.hint{color:#616061;font-size:.9rem}code{background:#f1f1f1;padding:.1rem .3rem;border-radius:3px}
ol{padding-left:1.3rem}li{margin:.5rem 0}footer{max-width:34rem;margin:-3rem auto 2rem;text-align:center;
font-size:.9rem;color:#616061}footer a{color:#1d4f91;margin:0 .5rem}
"""

# Slack's own "Add to Slack" button: its image and size, as Slack publishes them. Pages that show it
# allow images from this origin in their Content-Security-Policy (and nothing else from outside).
SLACK_BUTTON_ORIGIN = "https://platform.slack-edge.com"
_SLACK_BUTTON = SLACK_BUTTON_ORIGIN + "/img/add_to_slack.png"
_SLACK_BUTTON_2X = SLACK_BUTTON_ORIGIN + "/img/add_to_slack@2x.png"


@dataclass(frozen=True)
class Footer:
    """The links a hosted Slack app owes its users on every page it shows (Marketplace review)."""

    privacy_policy_url: str | None = None
    support_url: str | None = None

    def html(self) -> str:
        links = [
            f'<a id={id_} href="{escape(url, quote=True)}">{label}</a>'
            for id_, url, label in (
                ("privacy", self.privacy_policy_url, "Privacy policy"),
                ("support", self.support_url, "Support"),
            )
            if url
        ]
        return f"<footer>{''.join(links)}</footer>" if links else ""


def _page(title: str, body: str, footer: Footer | None = None) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · WhatConverts for Slack</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main>{footer.html() if footer else ''}</body></html>"
    )


def landing_page(*, install_url: str, footer: Footer) -> str:
    """`/`: what the app does and Slack's "Add to Slack" button, which starts the install."""
    button = (
        f'<a id=add-to-slack href="{escape(install_url, quote=True)}"><img alt="Add to Slack" height=40 width=139 '
        f'src="{_SLACK_BUTTON}" srcset="{_SLACK_BUTTON} 1x, {_SLACK_BUTTON_2X} 2x"></a>'
    )
    return _page(
        "Add to Slack",
        f"""<h1>WhatConverts for Slack</h1>
<p>Every new WhatConverts lead (phone calls, web forms, chats, texts, transactions) as a card in the
Slack channels you choose, within seconds. Mark leads quotable or add their value from the card, look
leads up with <code>/whatconverts leads</code>, and run it all from the app's Home tab.</p>
<p>{button}</p>
<p class=hint>After installing, run <code>/whatconverts connect</code> in Slack to connect your
WhatConverts account.</p>""",
        footer,
    )


def installed_page(*, team_name: str | None, team_id: str | None, app_id: str | None, footer: Footer) -> str:
    """Where Slack's install redirect lands: it worked, and what to do next."""
    where = f" in {escape(team_name)}" if team_name else ""
    open_home = ""
    if team_id and app_id:
        # Slack's deep link to the app's Home tab; the browser asks to open the Slack app.
        home = "slack://app?" + urlencode({"team": team_id, "id": app_id, "tab": "home"})
        open_home = f'<p><a id=open-home href="{escape(home, quote=True)}">Open the Home tab in Slack</a></p>'
    return _page(
        "Installed",
        f"""<h1 id=installed>Installed{where} ✓</h1>
<p>WhatConverts for Slack is in your workspace. Next, in Slack:</p>
<ol>
<li>Run <code>/whatconverts connect</code> to connect your WhatConverts account (workspace admins and
whoever installed the app can). It answers with a private, one-time link to connect it.</li>
<li>In a channel that should get leads, run <code>/whatconverts subscribe</code>, for example
<code>/whatconverts subscribe calls forms</code>.</li>
<li>Open the app's <b>Home</b> tab: connections, subscriptions and anything that needs attention.</li>
</ol>
{open_home}<p class=hint>You can close this tab.</p>""",
        footer,
    )


# What Bolt's failure reasons (and Slack's `error=` on the redirect) mean to the person installing.
_INSTALL_FAILURES = {
    "access_denied": "The install was cancelled in Slack. Nothing was installed.",
    "invalid_browser": "This install didn't start in this browser, or it took longer than 10 minutes.",
    "invalid_state": "This install link has expired or was used already.",
    "missing_code": "Slack's answer was incomplete.",
    "invalid_code": "Slack didn't accept the install, or it was finished already.",
    "storage_error": "The install couldn't be saved. Please try again in a minute.",
}


def install_failed_page(*, reason: str, install_url: str, footer: Footer) -> str:
    """The install didn't finish: why, in words, and a fresh start."""
    message = _INSTALL_FAILURES.get(reason, "Slack could not complete the install.")
    return _page(
        "Not installed",
        f"""<h1 id=not-installed>Not installed</h1>
<p class=error>{escape(message)}</p>
<p><a id=start-again href="{escape(install_url, quote=True)}">Start the install again</a></p>""",
        footer,
    )


def connect_form(*, state: str, label: str | None, error: str | None = None) -> str:
    """The API-key form; works without JavaScript. The secret is never echoed back."""
    problem = f"<p class=error role=alert id=error>{escape(error)}</p>" if error else ""
    return _page(
        "Connect WhatConverts",
        f"""<h1>Connect WhatConverts</h1>
{problem}
<p>Paste an API token and secret. In WhatConverts: <b>{escape(PROFILE_API_KEYS)}</b> for a
profile key, or <b>{escape(MASTER_API_KEYS)}</b> for an agency key
that sees every account.</p>
<form method=post action="/whatconverts/connect" autocomplete=off>
<input type=hidden name=state value="{escape(state, quote=True)}">
<label for=api_token>API token</label>
<input type=text id=api_token name=api_token required maxlength=200 spellcheck=false>
<label for=api_secret>API secret</label>
<input type=password id=api_secret name=api_secret required maxlength=200>
<label for=label>Label <span class=hint>(optional, e.g. <code>acme</code>)</span></label>
<input type=text id=label name=label maxlength=32 value="{escape(label or "", quote=True)}">
<button type=submit id=connect>Connect</button>
</form>
<p class=hint>The secret is stored encrypted and only ever sent to WhatConverts.</p>""",
    )


def success_page(*, label: str, key_type: str, kind: str, accounts: list[str]) -> str:
    seen = ", ".join(escape(a) for a in accounts[:10]) or "no leads yet"
    what = f"{'agency/master' if key_type == 'master' else 'profile'} {'OAuth grant' if kind == 'oauth' else 'API key'}"
    return _page(
        "Connected",
        f"""<h1 id=success>Connected ✓</h1>
<p>WhatConverts is connected as <code>{escape(label)}</code> ({escape(what)}). It can see: {seen}.</p>
<p><b>Next:</b> in Slack, go to the channel that should get leads and run
<code>/whatconverts subscribe</code> (for example <code>/whatconverts subscribe calls forms</code>).
You can close this tab.</p>""",
    )


def error_page(*, title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p class=error>{escape(message)}</p>")
