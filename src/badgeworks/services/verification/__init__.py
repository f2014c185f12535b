"""Verification for the service and the CLI: ``pipeline`` (where every verification starts),
``capabilities`` (what it may use), ``public`` (the public verifier), ``pool`` (its worker
pool) and ``resolver`` (the DID documents we host).
"""
