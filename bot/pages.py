"""Pure builders for our few web pages (connect form, success, errors). Everything shown is escaped."""

from __future__ import annotations

from html import escape

from bot.wc_paths import MASTER_API_KEYS, PROFILE_API_KEYS

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
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · WhatConverts for Slack</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
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
