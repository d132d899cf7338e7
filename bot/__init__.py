"""WhatConverts for Slack: the Slack app, its web routes, WhatConverts client, poller and delivery."""
