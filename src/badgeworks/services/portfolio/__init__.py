"""What a candidate shows: the portfolio page, photos, sharing, baked badges and certificates."""
