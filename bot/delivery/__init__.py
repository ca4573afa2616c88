"""From a stored QTvoice event to Slack: the inbox, the router and the worker."""
