"""Everything that speaks QTvoice: the API client, its models, webhook signatures."""
