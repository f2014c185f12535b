"""Fast, strict JSON-LD 1.1 expansion and deserialization to RDF quads.

This implements the parts of JSON-LD 1.1 Processing Algorithms that credentials use:
Context Processing (§4.1) with ``@protected``, ``@propagate``, ``@vocab``,
``@language``, ``@version`` and property- and type-scoped contexts; Create Term
Definition (§4.2) with ``@id``/``@vocab``/datatype coercion, ``@json``, ``@prefix`` and
the containers ``@set``, ``@list``, ``@graph`` and ``@language``; IRI Expansion (§5.2);
Expansion (§5.1) and Deserialize JSON-LD to RDF (§8.1). It follows pyld 3.3.0's
behaviour where pyld differs from the letter of the specification, because pyld is the
reference path and the outputs must be byte-identical.

Value objects with ``@direction`` become ``i18n`` datatype literals (JSON-LD 1.1 API
"Object to RDF Conversion" with ``rdfDirection: "i18n-datatype"``, the option Digital
Bazaar's eddsa-rdfc-2022 cryptosuite sets). Anything else raises ``Unsupported``
(``@reverse``, ``@nest``, ``@included``, ``@import``, ``@direction`` in a context or term
definition, non-null ``@base``, ``@index``/``@id``/``@type`` containers, ``@type`` term
definitions, non-finite numbers, non-integral numbers inside ``@json`` values ...):
``canonicalize()`` then falls back to pyld.

Strict mode is built in (see ``canonicalize.py``). Error codes raised here:

- ``jsonld.dropped_term``: a key that expansion would drop (undefined term, term
  defined as null, key that does not expand to an absolute IRI or keyword);
- ``jsonld.relative_iri``: a relative IRI in ``@id``, ``@type`` or a property;
- ``jsonld.invalid_context``: a malformed context or term definition;
- ``jsonld.protected_redefinition``: a protected term redefined;
- ``jsonld.invalid_value``: a keyword with a value of the wrong shape;
- ``jsonld.too_deep``: the document or its contexts nest too deeply;
- ``context.not_allowed`` (``ContextError``) from the loader, unchanged.

The stages, one module each:

- ``syntax``: keywords, IRI forms, the depth limit and ``Unsupported``, shared by all;
- ``context``: Context Processing, term definitions and IRI Expansion (§4.1, §4.2, §5.2);
- ``expand``: Expansion (§5.1);
- ``rdf``: the expanded form to RDF quads (§8.1), deduplicating like pyld's node map;
- ``direct``: the common shape of a credential straight to quads in one walk, handing
  anything else to ``expand`` + ``rdf``.

``to_quads`` runs ``direct`` and falls back to the general path; ``to_quads_general`` is
the general path alone.
"""

from __future__ import annotations

from typing import Any

from .. import rdfc
from ..errors import ContextError, JsonLdError
from ..loader import DocumentLoader
from .direct import Bail, Direct
from .expand import Expander
from .rdf import RdfWriter
from .syntax import Unsupported, too_deep

__all__ = ["Unsupported", "to_quads", "to_quads_general"]


def to_quads(document: Any, loader: DocumentLoader) -> list[rdfc.Quad]:
    """Strictly expand ``document`` and return its RDF quads (blank nodes ``_:bN``).

    Raises ``JsonLdError`` (codes in the module docstring), ``ContextError`` from the
    loader, or :class:`Unsupported` for features this path does not implement.
    """
    try:
        return Direct(loader).run(document)
    except (Bail, JsonLdError, ContextError, Unsupported, RecursionError):
        # The general path decides: it raises the precise error or handles the feature.
        pass
    return to_quads_general(document, loader)


def to_quads_general(document: Any, loader: DocumentLoader) -> list[rdfc.Quad]:
    """``to_quads`` through the expanded form (the path for every JSON-LD feature)."""
    try:
        expanded = Expander(loader).expand_document(document)
        writer = RdfWriter()
        for item in expanded:
            if isinstance(item, dict) and "@value" not in item and "@list" not in item:
                writer.node(item, "", 1)
    except RecursionError:
        raise too_deep() from None
    return writer.quads
