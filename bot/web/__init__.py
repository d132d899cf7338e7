"""Our HTTP surface besides Slack's listeners: the route table, the pages, request body limits.

`routes` mounts Slack's endpoints through Bolt's adapter with the signature checked first, the
landing page, health and readiness and metrics; `install` is what a person sees around the Slack
install; `pages` are the pure page builders (every value escaped); `limits` reads a body only up
to a cap. The connect form and the webhook receiver keep their routes with their capability
(`bot.connect.web`, `bot.alerts.webhook_route`); the composition root mounts all three.

May import: the edges, the root's shared modules and `storage`.
"""
