"""Pure verification: every check a credential or presentation goes through, and the report.

``credential`` checks what a credential proves on its own (structure, schema, proof,
issuer, validity, status, endorsements); ``checks`` adds the checks that need a
capability (deliverable digests, the recipient, known issuers); ``document`` runs both
for a credential object or a VC-JWT; ``presentation`` checks presentations; ``report``
is the shape every front end shows. The service reaches all of it through
``services.verification.pipeline``.
"""
