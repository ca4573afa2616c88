"""qtslack: the QTvoice business phone system, in Slack."""

__version__ = "0.1.0"
