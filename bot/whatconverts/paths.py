"""Where things are in the WhatConverts web app: each menu path written once, for every place that shows it.

The connect page, Slack replies, the Home tab and the README all send people into WhatConverts'
menus; one wording everywhere means a user never wonders whether two texts mean different places.
Paths the reference confirms (../shared/reference/whatconverts-api.md §1, from WhatConverts' Help
Center) are shown as they are; the others (webhooks: §8/§10 and platform truth W3;
marking spam) carry `MAY_DIFFER`, so nobody is sent hunting for a menu item that is named differently.
"""

from __future__ import annotations

MAY_DIFFER = "(menu names may differ in your account)"

# API keys (reference §1: "Created at").
PROFILE_API_KEYS = "Profile → Tracking → Integrations → API Keys"
MASTER_API_KEYS = "Master Account Settings → Master Integrations → API Keys"

# Webhooks are set up per profile in the UI; the menu path is unconfirmed (W3).
WEBHOOKS = f"Profile → Tracking → Integrations → Webhooks {MAY_DIFFER}"

# Spam is marked only in the WhatConverts UI (W1). The Help Center's "Mark a Lead as Spam Manually"
# gives these steps; the reference doesn't confirm them.
MARK_SPAM = f"Lead Manager → View Lead → Mark as Spam {MAY_DIFFER}"

ALL = (PROFILE_API_KEYS, MASTER_API_KEYS, WEBHOOKS, MARK_SPAM)
