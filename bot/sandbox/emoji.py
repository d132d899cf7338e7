"""Slack emoji shortcodes → Unicode, for the sandbox page: every shortcode the app sends, and common ones.

Slack turns `:large_green_circle:` into 🟢 in mrkdwn and in plain_text (unless `emoji` is false). The
page does the same from this table; a shortcode not in it stays as typed, which is also what Slack
shows for a name it does not know. tests/sandbox/test_sandbox_render.py checks that every shortcode in the
app's own messages is here.
"""

from __future__ import annotations

# Emoji presentation selector: without it ⚠, ▶, ⏸ and friends may render as black text symbols.
_VS16 = "\ufe0f"

SHORTCODES: dict[str, str] = {
    # The app's own (grep bot/ for `:[a-z_0-9+-]+:`).
    "arrow_forward": "▶" + _VS16,
    "crescent_moon": "🌙",
    "double_vertical_bar": "⏸" + _VS16,
    "grey_question": "❔",
    "hourglass_flowing_sand": "⏳",
    "large_green_circle": "🟢",
    "large_orange_circle": "🟠",
    "link": "🔗",
    "no_entry": "⛔",
    "raising_hand": "🙋",
    "red_circle": "🔴",
    "spiral_calendar_pad": "🗓" + _VS16,
    "tada": "🎉",
    "warning": "⚠" + _VS16,
    "white_check_mark": "✅",
    "white_circle": "⚪",
    # Common ones people and apps use.
    "+1": "👍",
    "-1": "👎",
    "100": "💯",
    "alarm_clock": "⏰",
    "bangbang": "‼" + _VS16,
    "bar_chart": "📊",
    "bell": "🔔",
    "black_circle": "⚫",
    "bookmark": "🔖",
    "bulb": "💡",
    "busts_in_silhouette": "👥",
    "bust_in_silhouette": "👤",
    "calendar": "📆",
    "calling": "📲",
    "chart_with_upwards_trend": "📈",
    "chart_with_downwards_trend": "📉",
    "checkered_flag": "🏁",
    "clipboard": "📋",
    "clock3": "🕒",
    "construction": "🚧",
    "credit_card": "💳",
    "date": "📅",
    "dart": "🎯",
    "dollar": "💵",
    "e-mail": "📧",
    "email": "📧",
    "envelope": "✉" + _VS16,
    "exclamation": "❗",
    "eyes": "👀",
    "fire": "🔥",
    "gear": "⚙" + _VS16,
    "globe_with_meridians": "🌐",
    "heart": "❤" + _VS16,
    "heavy_check_mark": "✔" + _VS16,
    "heavy_dollar_sign": "💲",
    "heavy_minus_sign": "➖",  # noqa: RUF001 (the emoji itself)
    "heavy_plus_sign": "➕",  # noqa: RUF001 (the emoji itself)
    "hourglass": "⌛",
    "inbox_tray": "📥",
    "incoming_envelope": "📨",
    "information_source": "ℹ" + _VS16,  # noqa: RUF001 (the emoji itself)
    "iphone": "📱",
    "key": "🔑",
    "label": "🏷" + _VS16,
    "large_blue_circle": "🔵",
    "large_purple_circle": "🟣",
    "large_yellow_circle": "🟡",
    "lock": "🔒",
    "mag": "🔍",
    "mailbox": "📫",
    "memo": "📝",
    "money_with_wings": "💸",
    "moneybag": "💰",
    "new": "🆕",
    "ok": "🆗",
    "ok_hand": "👌",
    "outbox_tray": "📤",
    "package": "📦",
    "paperclip": "📎",
    "phone": "☎" + _VS16,
    "pushpin": "📌",
    "question": "❓",
    "raised_hands": "🙌",
    "repeat": "🔁",
    "robot_face": "🤖",
    "rocket": "🚀",
    "rotating_light": "🚨",
    "slightly_smiling_face": "🙂",
    "smile": "😄",
    "sparkles": "✨",
    "speech_balloon": "💬",
    "star": "⭐",
    "stopwatch": "⏱" + _VS16,
    "telephone_receiver": "📞",
    "thumbsdown": "👎",
    "thumbsup": "👍",
    "wave": "👋",
    "wrench": "🔧",
    "x": "❌",
    "zap": "⚡",
    "zzz": "💤",
}


def unicode_for(shortcode: str) -> str | None:
    """The emoji for `shortcode` (without colons), or None when the table doesn't know it."""
    return SHORTCODES.get(shortcode)
