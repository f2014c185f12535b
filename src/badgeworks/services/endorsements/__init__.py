"""Mentor and host-company endorsements: endorsers, invites and review, signing, hosting."""
