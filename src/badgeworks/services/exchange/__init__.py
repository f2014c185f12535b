"""Protocols other systems speak to us: the W3C VC-API."""
