"""Who may act: console staff, candidates' own access, API tokens."""
