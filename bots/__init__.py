"""The dcops Slack bot (slack-bolt AsyncApp): ``dcops slack`` serves it.

Slack app setup: a slash command ``/dcops`` and Interactivity, both with the request URL
``https://<host>/slack/events`` (HTTP mode), or Socket Mode with an app-level token
(``connections:write``) in ``$SLACK_APP_TOKEN``; bot scopes ``commands`` and ``chat:write``;
the bot token in ``$SLACK_BOT_TOKEN``, the signing secret in ``$SLACK_SIGNING_SECRET`` (names
configurable in ``[slack]``). Invite the bot to the channels it posts in, including
``[slack] approvals_channel``. RBAC binds ``slack:<user id>`` in the policy.

Modules: ``app`` (wiring, serve), ``server`` (HTTP / Socket Mode), ``commands`` (``/dcops``),
``interactivity`` (buttons), ``approvals`` (two-person decisions), ``flow`` (what a submitted
request turns into), ``live_message`` (one run, one updated message), ``blocks`` / ``chart`` /
``run_view`` (Block Kit rendering), ``identity``, ``channel_policy``, ``pending``, ``settings``,
``command_text``.
"""
