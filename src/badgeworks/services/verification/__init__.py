"""Verifying credentials and presentations: the one entry point, the public verifier, its worker
pool and the DID documents we host.
"""
