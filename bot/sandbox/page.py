"""The `/sandbox` page itself: a Slack-like window (sidebar, channel, App Home, modals) and its script.

The page keeps nothing but what it shows: it polls `/sandbox/state` (faster for a few seconds
after anything is pressed) and draws what the server rendered. `window.sandbox.press(button)` presses
a button the way a click does and resolves when the app has acked (`pick(select)` reports a person
chosen in a message's menu); each call is its own request, so many presses can run at once.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from bot.sandbox.render import EMOJI_FONTS, STYLE
from bot.sandbox.view_render import VIEW_STYLE

PAGE_STYLE = f"""\
[hidden] {{ display: none !important; }}
body {{ margin: 0; font: 15px/1.46 Lato, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, {EMOJI_FONTS},
  sans-serif; color: #1d1c1d; background: #fff; }}
.workspace {{ display: grid; grid-template: 44px 1fr / 230px minmax(0, 1fr) 450px; height: 100vh; }}
.topbar {{ grid-column: 1 / -1; background: #350d36; color: #fff; display: flex; align-items: center; gap: 16px;
  padding: 0 16px; font-size: 13px; }}
.topbar b {{ font-size: 15px; }}
.topbar span {{ color: #d8cfd8; }}
.sidebar {{ background: #3f0e40; color: #cfc3cf; overflow: auto; }}
.team {{ color: #fff; font-weight: 900; font-size: 18px; padding: 12px 16px; border-bottom: 1px solid #5a2b5b; }}
.section-title {{ padding: 16px 16px 4px; font-size: 14px; }}
.nav-link {{ display: flex; gap: 8px; padding: 3px 16px 3px 24px; color: #cfc3cf; text-decoration: none; }}
.nav-link:hover {{ background: #350d36; }}
.app-dot {{ background: #0077b6; color: #fff; border-radius: 4px; font-size: 11px; font-weight: 900; width: 18px;
  text-align: center; margin: 2px 0; }}
.nav-link.active {{ background: #1164a3; color: #fff; font-weight: 700; }}
.channel {{ display: flex; flex-direction: column; min-height: 0; border-right: 1px solid #e1e1e1; }}
.pane-head {{ display: flex; align-items: center; gap: 10px; padding: 0 20px; height: 50px;
  border-bottom: 1px solid #e1e1e1; flex: none; }}
.pane-head h2 {{ font-size: 18px; font-weight: 900; margin: 0; }}
.messages {{ flex: 1; overflow: auto; padding: 8px 0 4px; display: flex; flex-direction: column; }}
.messages-spacer {{ flex: 1 0 0; }}
.slack-row {{ display: flex; gap: 8px; padding: 8px 20px; }}
.slack-row:hover {{ background: #f8f8f8; }}
.avatar {{ flex: none; width: 36px; height: 36px; border-radius: 6px;
  background: linear-gradient(135deg, #00a3e0, #005b94); color: #fff; font-weight: 900; font-size: 15px;
  display: flex; align-items: center; justify-content: center; }}
.row-body {{ flex: 1; min-width: 0; }}
.author {{ font-weight: 900; }}
.app-badge {{ font-size: 10px; font-weight: 700; color: #616061; background: rgba(29,28,29,.13); border-radius: 2px;
  padding: 1px 3px; margin-left: 4px; vertical-align: 2px; }}
.eph-note {{ color: #616061; font-size: 12px; margin-left: 6px; }}
.slack-ephemeral {{ background: #f8f8f8; }}
.thread-replies {{ color: #1264a3; font-size: 13px; font-weight: 700; }}
.thread {{ border-left: 3px solid #e1e1e1; margin-top: 4px; }}
.thread .slack-row.reply {{ padding: 4px 10px; }}
.thread .avatar {{ width: 24px; height: 24px; font-size: 11px; border-radius: 4px; }}
.thread-more {{ color: #616061; font-size: 12px; padding: 2px 10px; }}
.empty {{ color: #616061; padding: 8px 20px; }}
.composer {{ margin: 0 20px 6px; border: 1px solid #bbb; border-radius: 8px; display: flex; flex: none; }}
.composer input {{ flex: 1; border: 0; font: inherit; padding: 11px 12px; border-radius: 8px; outline: none; }}
.composer button {{ margin: 6px; border: 0; border-radius: 4px; background: #007a5a; color: #fff; font-weight: 700;
  padding: 0 14px; cursor: pointer; }}
.composer-hint {{ color: #616061; font-size: 12px; margin: 0 20px 12px; flex: none; }}
.home {{ display: flex; flex-direction: column; min-height: 0; }}
.tabs {{ display: flex; gap: 18px; margin-left: auto; font-size: 14px; }}
.tabs b {{ border-bottom: 2px solid #1264a3; padding-bottom: 13px; margin-bottom: -15px; }}
#home {{ flex: 1; overflow: auto; padding: 12px 20px; }}
.modal-layer {{ position: fixed; inset: 0; background: rgba(29,28,29,.55); display: flex; align-items: center;
  justify-content: center; flex-direction: column; gap: 10px; z-index: 10; }}
.modal-count {{ color: #fff; font-size: 13px; }}
"""

SCRIPT = """\
const S = {channel: document.querySelector('.nav-link.active').dataset.channel, replies: {}, modalKey: null,
           modalId: null, fastUntil: 0};
const post = (url, body) => fetch(url, {method: 'POST', headers: {'content-type': 'application/json'},
                                        body: JSON.stringify(body)});
function swap(el, html) { if (el.dataset.html !== html) { el.innerHTML = html; el.dataset.html = html; } }
function soon() { S.fastUntil = Date.now() + 4000; }

function readForm() {
  const values = {};
  for (const c of document.querySelectorAll('#modal-layer .slack-control')) {
    const choices = [...c.querySelectorAll('input[type=checkbox], input[type=radio]')];
    const select = c.querySelector('select'), field = c.querySelector('input, textarea');
    let v = null;
    if (choices.length) {
      const on = choices.filter(i => i.checked).map(i => i.value);
      v = c.dataset.type === 'radio_buttons' ? (on[0] ?? null) : on;
    } else if (select) {
      v = select.multiple ? [...select.selectedOptions].map(o => o.value) : (select.value || null);
    } else if (field) {
      v = field.value;
    }
    (values[c.dataset.blockId] = values[c.dataset.blockId] || {})[c.dataset.actionId] = v;
  }
  return values;
}

function restoreForm(values) {
  // Slack keeps what was typed when a view is redrawn (errors, views.update) with the same block ids.
  for (const c of document.querySelectorAll('#modal-layer .slack-control')) {
    const v = (values[c.dataset.blockId] || {})[c.dataset.actionId];
    if (v === undefined) continue;
    const wanted = new Set([].concat(v ?? []));
    const choices = c.querySelectorAll('input[type=checkbox], input[type=radio]');
    const select = c.querySelector('select'), field = c.querySelector('input, textarea');
    if (choices.length) choices.forEach(i => { i.checked = wanted.has(i.value); });
    else if (select) [...select.options].forEach(o => { o.selected = wanted.has(o.value); });
    else if (field) field.value = v ?? '';
  }
}

function showModal(m) {
  const layer = document.getElementById('modal-layer');
  if (!m) { layer.hidden = true; layer.innerHTML = ''; S.modalKey = S.modalId = null; return; }
  if (m.key === S.modalKey) return;
  const typed = m.id === S.modalId ? readForm() : null;
  layer.innerHTML = m.html + (m.behind ? `<div class="modal-count">${m.behind} more behind this one</div>` : '');
  layer.hidden = false;
  if (typed) restoreForm(typed);
  S.modalKey = m.key; S.modalId = m.id;
}

function showChannel(id) {
  S.channel = id;
  for (const link of document.querySelectorAll('.nav-link[data-channel]'))
    link.classList.toggle('active', link.dataset.channel === id);
  for (const stream of document.querySelectorAll('.channel-stream')) stream.hidden = stream.dataset.channel !== id;
  const name = document.querySelector(`.nav-link[data-channel="${id}"]`).dataset.name;
  document.getElementById('channel-title').textContent = '# ' + name;
  document.getElementById('command-text').placeholder = 'Message #' + name;
  swap(document.getElementById('reply'), S.replies[id] || '');
  const box = document.getElementById('messages'); box.scrollTop = box.scrollHeight;
}

async function refresh() {
  const s = await (await fetch('/sandbox/state')).json();
  const box = document.getElementById('messages');
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  for (const [id, html] of Object.entries(s.channels)) swap(document.getElementById('channel-' + id), html);
  S.replies = s.replies;
  swap(document.getElementById('reply'), s.replies[S.channel] || '');
  swap(document.getElementById('home'), s.home);
  showModal(s.modal);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

async function loop() {
  try { await refresh(); } catch (e) { /* the demo stopped or restarts: keep trying */ }
  setTimeout(loop, Date.now() < S.fastUntil ? 200 : 1500);
}

async function press(button) {
  // One request per press, so presses made at once each reach the app on their own.
  soon();
  const inModal = button.closest('#modal-layer');
  const r = await post('/sandbox/action', {
    message: button.dataset.message, action_id: button.dataset.actionId, value: button.dataset.value,
    block_id: button.dataset.blockId, text: button.textContent, values: inModal ? readForm() : null});
  soon();
  return r.json();
}

async function pick(select) {
  // A person chosen in a message's users_select: Slack reports the choice at once, as a block action.
  soon();
  const r = await post('/sandbox/action', {
    message: select.dataset.message, action_id: select.dataset.actionId, block_id: select.dataset.blockId,
    type: select.dataset.type, selected: select.value});
  soon();
  return r.json();
}

async function submitModal(button) {
  button.disabled = true; soon();
  try {
    const r = await post('/sandbox/view/submit', {view_id: S.modalId, values: readForm()});
    showModal((await r.json()).modal);
  } finally { button.disabled = false; soon(); }
}

async function closeModal() {
  if (!S.modalId) return;
  const r = await post('/sandbox/view/close', {view_id: S.modalId});
  showModal((await r.json()).modal); soon();
}

document.addEventListener('click', (e) => {
  const control = e.target.closest('[data-modal]');
  if (control) { e.preventDefault(); control.dataset.modal === 'submit' ? submitModal(control) : closeModal(); return; }
  const link = e.target.closest('.nav-link[data-channel]');
  if (link) { e.preventDefault(); showChannel(link.dataset.channel); return; }
  const b = e.target.closest('.slack-button[data-action-id]');
  if (!b) return;
  if (b.dataset.confirm && !window.confirm(b.dataset.confirm)) { e.preventDefault(); return; }
  if (b.tagName !== 'A') e.preventDefault();  // a link button opens its page and still reports the press
  press(b);
});
document.addEventListener('change', (e) => {
  const menu = e.target.closest('select.slack-menu[data-action-id]');
  if (menu && menu.value) pick(menu);
});
document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && S.modalId) closeModal(); });
document.getElementById('command').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = document.getElementById('command-text');
  const text = input.value; input.value = '';
  soon();
  await post('/sandbox/command', {text, channel: S.channel});
  await refresh(); soon();
});
window.sandbox = {press, pick, refresh, readForm};
showChannel(S.channel);
loop();
"""


def render_page(channels: Mapping[str, str], *, team: str, app: str) -> str:
    """The page for channels (id → name), the first one open; everything inside arrives by polling."""
    first = next(iter(channels))
    links = "".join(
        f'<a href="#{html.escape(name)}" class="nav-link{" active" if cid == first else ""}" '
        f'data-channel="{html.escape(cid)}" data-name="{html.escape(name)}"><span>#</span>{html.escape(name)}</a>'
        for cid, name in channels.items()
    )
    streams = "".join(
        f'<div class="channel-stream" id="channel-{html.escape(cid)}" data-channel="{html.escape(cid)}"></div>'
        for cid in channels
    )
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1">
<title>{html.escape(app)} — sandbox</title>
<style>
{PAGE_STYLE}{STYLE}{VIEW_STYLE}</style></head><body>
<div class=workspace>
<header class=topbar><b>{html.escape(team)}</b><span>Sandbox: a fake Slack workspace and a fake WhatConverts account,
wired to the real app. New leads arrive every few seconds.</span></header>
<nav class=sidebar><div class=team>{html.escape(team)}</div>
<div class=section-title>Channels</div>{links}
<div class=section-title>Apps</div><span class=nav-link><span class=app-dot>W</span>{html.escape(app)}</span></nav>
<main class=channel>
<div class=pane-head><h2 id=channel-title></h2></div>
<div class=messages id=messages><div class=messages-spacer></div>{streams}<div id=reply></div></div>
<form id=command class=composer autocomplete=off><input id=command-text name=text value="/whatconverts list"
 aria-label="Message"><button type=submit id=run>Send</button></form>
<p class=composer-hint>Try <code>/whatconverts help</code>, <code>/whatconverts subscribe #calls forms</code>
or <code>/whatconverts leads today</code> · buttons on cards and in App Home work as in Slack.</p>
</main>
<aside class=home><div class=pane-head><div class=avatar>W</div><h2>{html.escape(app)}</h2>
<div class=tabs><b>Home</b><span>Messages</span><span>About</span></div></div>
<div id=home class=slack-message></div></aside>
</div>
<div id=modal-layer class=modal-layer hidden></div>
<script>
{SCRIPT}</script></body></html>"""
