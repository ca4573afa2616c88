"""The Slack listeners, one module per surface, each with `register(app, runtime)`.

A listener reads its payload at its door (`bot.slack.requests`) and imports no other
listener: what two of them share lives below them in `bot.slack` (`tell`, `buttons`,
`items`, `modal`, `app_home`, `health`, …), as `tests/test_architecture.py` checks.
"""
