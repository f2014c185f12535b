"""What happens to a credential after issue: revoke, suspend, correct, expire, and the status lists
that publish it.
"""
