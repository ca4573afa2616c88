"""Tests of the Slack side: Block Kit builders, and later the Bolt listeners."""
