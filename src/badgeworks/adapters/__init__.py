"""Adapters: each wraps one outside thing (files, network, QR, keystore)."""
