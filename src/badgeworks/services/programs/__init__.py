"""Programs and what they award: issuers, achievements, images, projects, candidates."""
