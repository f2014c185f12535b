"""The pure core: no network, files, database, environment or clock.

Everything here takes its document loader, keys and ``now`` as arguments. The modules,
lowest layer first (``docs/architecture.md`` says what each is for):

- values and codecs: ``errors``, ``encoding`` (base64url), ``multibase``, ``multikey``,
  ``did_key``, ``contexts``, ``values``, ``email``, ``document``;
- ``crypto/``, the only importer of ``cryptography``: ``ed25519``, ``jose``, ``symmetric``;
- JSON-LD: ``loader``, ``jsonld/`` (``syntax``, ``context``, ``expand``, ``rdf``,
  ``direct``), ``rdfc``, ``canonicalize``;
- proofs: ``cryptosuites``, ``proof``, ``keys``;
- Open Badges: ``identity``, ``credential``, ``structure``, ``schema``, ``svg``, ``baking``;
- entry points: ``issue`` (the one way to sign a credential), ``vc_jwt`` (VC-JWT proofs),
  and verification beside them.
"""
