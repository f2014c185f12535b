"""The only package that imports ``cryptography`` (``tests/test_layering.py`` checks it).

- ``ed25519``: Ed25519 key pairs, signing and verification, for Data Integrity proofs.
- ``jose``: JWS signatures (RS256, ES256, EdDSA) over JSON Web Keys, for VC-JWT.
- ``symmetric``: scrypt and AES-GCM, for secret keys encrypted at rest.

Everything outside handles keys as raw bytes, Multikey strings or JWKs, so swapping the
crypto library touches this package only. Import from the module that names the concept.
"""
