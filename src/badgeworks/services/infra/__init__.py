"""Plumbing shared by every workflow: outbox, idempotency, rate limits, paging, audit log, the key-
encryption secret.
"""
