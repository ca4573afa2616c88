"""Block Kit builders, pure, all made of one kit (`bot.slack.blocks.kit`): notifications and
cards (`notifications`), slash command replies (`replies`), ownership, the SMS modal, the
history, the digest, delivery health and the extension check."""
