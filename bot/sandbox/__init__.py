"""Local stand-ins for QTvoice and Slack, served over real HTTP for the demo and the tests."""
