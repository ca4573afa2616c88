"""Everything that speaks Slack: the Bolt app, its listeners and the Block Kit builders."""
