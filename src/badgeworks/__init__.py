"""badgeworks: verifiable Open Badges 3.0 credentials for micro-internship work."""

__version__ = "0.1.0"
