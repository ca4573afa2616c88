"""Tests of the QTvoice client, its models and webhook signatures."""
