"""Expansion (JSON-LD 1.1 §5.1), mirroring pyld 3.3.0's control flow."""

from __future__ import annotations

import math
from typing import Any

from .context import Context, Processor, invalid
from .syntax import (
    KEYWORDS,
    MAX_DEPTH,
    Unsupported,
    arrayify,
    pyld_absolute,
    raise_dropped,
    too_deep,
)


def _add_value(subject: dict[str, Any], prop: str, value: Any, as_array: bool) -> None:
    """pyld's ``add_value`` with duplicates allowed."""
    if isinstance(value, list):
        if not value and as_array and prop not in subject:
            subject[prop] = []
        for item in value:
            _add_value(subject, prop, item, as_array)
    elif prop in subject:
        existing = subject[prop]
        if not isinstance(existing, list):
            subject[prop] = existing = [existing]
        existing.append(value)
    else:
        subject[prop] = [value] if as_array else value


class Expander(Processor):
    """JSON-LD 1.1 Expansion (§5.1), mirroring pyld 3.3.0's control flow."""

    def expand_document(self, document: Any) -> list[Any]:
        expanded = self.expand(self.root, None, document, False, None, 0)
        if isinstance(expanded, dict) and "@graph" in expanded and len(expanded) == 1:
            expanded = expanded["@graph"]
        elif expanded is None:
            expanded = []
        return arrayify(expanded)

    def expand(
        self,
        active: Context,
        prop: str | None,
        element: Any,
        inside_list: bool,
        type_scoped: Context | None,
        depth: int,
    ) -> Any:
        if depth > MAX_DEPTH:
            raise too_deep()
        if element is None:
            return None
        if isinstance(element, list):
            td = active.terms.get(prop) if prop is not None else None
            inside_list = inside_list or (td is not None and "@list" in td.container)
            out: list[Any] = []
            for item in element:
                item = self.expand(active, prop, item, inside_list, type_scoped, depth + 1)
                if inside_list and isinstance(item, list):
                    item = {"@list": item}
                if item is not None:
                    if isinstance(item, list):
                        out.extend(item)
                    else:
                        out.append(item)
            return out
        if not isinstance(element, dict):
            if not inside_list and (
                prop is None or self.expand_iri(active, prop, vocab=True) == "@graph"
            ):
                return None
            return self.expand_value(active, prop, element)
        return self.expand_map(active, prop, element, inside_list, type_scoped, depth)

    def expand_value(self, active: Context, prop: str | None, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise Unsupported("a non-finite number")
        expanded_prop = self.expand_iri(active, prop, vocab=True)
        if expanded_prop == "@id":
            return self.expand_iri(active, value)
        if expanded_prop == "@type":
            return self.expand_iri(active, value, vocab=True)
        td = active.terms.get(prop) if prop is not None else None
        type_ = td.type if td is not None else None
        if isinstance(value, str):
            if type_ == "@id" or expanded_prop == "@graph":
                return {"@id": self.expand_iri(active, value)}
            if type_ == "@vocab":
                return {"@id": self.expand_iri(active, value, vocab=True)}
        if isinstance(expanded_prop, str) and expanded_prop in KEYWORDS:
            return value
        rval: dict[str, Any] = {}
        if type_ is not None and type_ not in ("@id", "@vocab", "@none"):
            rval["@type"] = type_
        elif isinstance(value, str):
            language = td.language if td is not None and td.has_language else active.language
            if language is not None:
                rval["@language"] = language
        rval["@value"] = value
        return rval

    def expand_map(
        self,
        active: Context,
        prop: str | None,
        element: dict[str, Any],
        inside_list: bool,
        type_scoped: Context | None,
        depth: int,
    ) -> Any:
        expanded_active_prop = (
            self.expand_iri(active, prop, vocab=True) if prop is not None else None
        )
        td = active.terms.get(prop) if prop is not None else None
        if type_scoped is None and active.previous is not None:
            type_scoped = active
        must_revert = True
        if type_scoped is not None and len(element) <= 2 and "@context" not in element:
            for key in sorted(element):
                expanded_key = self.expand_iri(type_scoped, key, vocab=True)
                if expanded_key == "@value":
                    must_revert = False
                    active = type_scoped
                    break
                if expanded_key == "@id" and len(element) == 1:
                    must_revert = False
                    break
        if must_revert and active.previous is not None:
            active = active.previous
        if td is not None and td.has_context:
            active = self.process(active, td.context, td.context_key, override_protected=True)
        if "@context" in element:
            local = element["@context"]
            if isinstance(local, dict) and len(local) == 1 and "@context" in local:
                raise invalid("keywords cannot be overridden")
            active = self.process(active, local, None, depth=depth)
        type_scoped = active
        type_key: str | None = None
        keys = sorted(element)
        for key in keys:
            if self.expand_iri(active, key, vocab=True) != "@type":
                continue
            if type_key is None:
                type_key = key
            types = [t for t in arrayify(element[key]) if isinstance(t, str)]
            for type_ in sorted(types):
                ttd = type_scoped.terms.get(type_)
                if ttd is not None and ttd.has_context and ttd.context is not None:
                    active = self.process(active, ttd.context, ttd.context_key, propagate=False)
        rval: dict[str, Any] = {}
        self.expand_object(
            active,
            prop,
            expanded_active_prop,
            element,
            keys,
            rval,
            inside_list,
            type_key,
            type_scoped,
            depth,
        )
        return self._finish(rval, element, active, prop, expanded_active_prop, inside_list)

    def _finish(
        self,
        rval: Any,
        element: dict[str, Any],
        active: Context,
        prop: str | None,
        expanded_active_prop: Any,
        inside_list: bool,
    ) -> Any:
        count = len(rval)
        if "@value" in rval:
            if "@type" in rval and ("@language" in rval or "@direction" in rval):
                raise invalid(
                    "a value object cannot have both @type and @language or @direction",
                    "jsonld.invalid_value",
                )
            extra = (
                count
                - 1
                - sum(1 for k in ("@type", "@index", "@language", "@direction") if k in rval)
            )
            if extra != 0:
                raise invalid("a value object has extra entries", "jsonld.invalid_value")
            if "@type" in rval:
                if any(
                    self.expand_iri(active, k, vocab=True) == "@type" and isinstance(v, list)
                    for k, v in element.items()
                ):
                    raise invalid("a typed value needs a single type", "jsonld.invalid_value")
                if rval["@type"] is None:
                    del rval["@type"]
            types = arrayify(rval["@type"]) if "@type" in rval else []
            value = rval["@value"]
            if "@json" in types and len(types) == 1:
                pass
            elif value is None:
                rval = None
            elif "@language" in rval and not isinstance(value, str):
                raise invalid("only strings can be language-tagged", "jsonld.invalid_value")
            elif not all(
                isinstance(t, str) and pyld_absolute(t) and not t.startswith("_:") for t in types
            ):
                raise invalid("a typed value needs an absolute IRI type", "jsonld.invalid_value")
        elif "@direction" in rval:
            raise Unsupported("@direction outside a value object")
        elif "@type" in rval:
            if rval["@type"] is None:
                raise invalid("@type cannot be null", "jsonld.invalid_value")
            if not isinstance(rval["@type"], list):
                rval["@type"] = [rval["@type"]]
        elif "@set" in rval or "@list" in rval:
            if count > 1 and not (count == 2 and "@index" in rval):
                raise invalid("@set/@list objects allow only @index", "jsonld.invalid_value")
            if "@set" in rval:
                rval = rval["@set"]
                count = len(rval)
        elif count == 1 and "@language" in rval:
            rval = None
        if (
            isinstance(rval, dict)
            and not inside_list
            and (prop is None or expanded_active_prop == "@graph")
            and (
                count == 0 or "@value" in rval or "@list" in rval or (count == 1 and "@id" in rval)
            )
        ):
            rval = None
        return rval

    def expand_object(
        self,
        active: Context,
        prop: str | None,
        expanded_active_prop: Any,
        element: dict[str, Any],
        keys: list[str],
        rval: dict[str, Any],
        inside_list: bool,
        type_key: str | None,
        type_scoped: Context,
        depth: int,
    ) -> None:
        is_json_type = False
        if type_key is not None:
            t = element[type_key]
            if isinstance(t, list) and t:
                t = t[0]
            is_json_type = self.expand_iri(active, t, vocab=True) == "@json"
        unexpanded_value: Any = None
        terms = active.terms
        for key in keys:
            if key == "@context":
                continue
            value = element[key]
            td = terms.get(key)
            if td is not None:
                expanded_prop: Any = td.iri
            else:
                expanded_prop = self.expand_iri(active, key, vocab=True)
            is_keyword = isinstance(expanded_prop, str) and expanded_prop in KEYWORDS
            if expanded_prop is None or not (is_keyword or pyld_absolute(expanded_prop)):
                raise_dropped(expanded_prop)
            if is_keyword:
                if expanded_active_prop == "@reverse":
                    raise Unsupported("@reverse")
                if expanded_prop in rval and expanded_prop not in ("@included", "@type"):
                    raise invalid(f"colliding keywords {expanded_prop}", "jsonld.invalid_value")
                if expanded_prop == "@id":
                    if not isinstance(value, str):
                        raise invalid("@id must be a string", "jsonld.invalid_value")
                    rval["@id"] = self.expand_iri(active, value)
                    continue
                if expanded_prop == "@type":
                    if value is None:
                        _add_value(rval, "@type", None, False)
                        continue
                    if isinstance(value, dict):
                        raise Unsupported("@type as an object")
                    values = arrayify(value)
                    if not all(isinstance(v, str) for v in values):
                        raise invalid("@type must be strings", "jsonld.invalid_value")
                    _add_value(
                        rval,
                        "@type",
                        [self.expand_iri(type_scoped, v, vocab=True) for v in values],
                        False,
                    )
                    continue
                if expanded_prop == "@direction":
                    # JSON-LD 1.1 §5.1.2 step 13.4.10: "ltr" or "rtl" only.
                    if isinstance(value, list):
                        raise Unsupported("@direction as an array")
                    if value not in ("ltr", "rtl"):
                        raise invalid('@direction must be "ltr" or "rtl"', "jsonld.invalid_value")
                    rval["@direction"] = value
                    continue
                if expanded_prop in ("@included", "@reverse", "@nest"):
                    raise Unsupported(expanded_prop)
                if expanded_prop == "@graph" and not isinstance(value, dict | list):
                    raise invalid("@graph must be an object or array", "jsonld.invalid_value")
                if expanded_prop == "@value":
                    unexpanded_value = value
                    if isinstance(value, float) and not math.isfinite(value):
                        raise Unsupported("a non-finite number")
                    if is_json_type:
                        rval["@value"] = value
                    else:
                        _add_value(rval, "@value", value, False)
                    continue
                if expanded_prop == "@language":
                    if value is None:
                        continue
                    if not isinstance(value, str):
                        raise invalid("@language must be a string", "jsonld.invalid_value")
                    rval["@language"] = value.lower()
                    continue
                if expanded_prop == "@index":
                    if not isinstance(value, str):
                        raise invalid("@index must be a string", "jsonld.invalid_value")
                    rval["@index"] = value
                    continue
            term_ctx = active
            if td is not None and td.has_context:
                term_ctx = self.process(active, td.context, td.context_key, override_protected=True)
            container = td.container if td is not None else frozenset()
            if "@language" in container and isinstance(value, dict):
                expanded_value: Any = self._language_map(term_ctx, value)
            else:
                if expanded_prop in ("@list", "@set"):
                    next_prop = prop
                    is_list = expanded_prop == "@list"
                    if is_list and expanded_active_prop == "@graph":
                        next_prop = None
                    expanded_value = self.expand(
                        term_ctx, next_prop, value, is_list, None, depth + 1
                    )
                elif td is not None and td.type == "@json":
                    expanded_value = {"@type": "@json", "@value": value}
                else:
                    expanded_value = self.expand(term_ctx, key, value, False, None, depth + 1)
            if expanded_value is None and expanded_prop != "@value":
                continue
            if (
                expanded_prop != "@list"
                and "@list" in container
                and not (isinstance(expanded_value, dict) and "@list" in expanded_value)
            ):
                expanded_value = {"@list": arrayify(expanded_value)}
            if "@graph" in container:
                expanded_value = [{"@graph": [v]} for v in arrayify(expanded_value)]
            as_array = expanded_prop not in ("@index", "@id", "@type", "@value", "@language")
            _add_value(rval, expanded_prop, expanded_value, as_array)
        if (
            "@value" in rval
            and not (rval.get("@type") == "@json")
            and isinstance(unexpanded_value, dict | list)
        ):
            raise invalid("@value must be a scalar", "jsonld.invalid_value")

    def _language_map(self, active: Context, value: dict[str, Any]) -> list[Any]:
        out = []
        for key in sorted(value):
            expanded_key = self.expand_iri(active, key, vocab=True)
            for item in arrayify(value[key]):
                if item is None:
                    continue
                if not isinstance(item, str):
                    raise invalid("language map values must be strings", "jsonld.invalid_value")
                val: dict[str, Any] = {"@value": item}
                if expanded_key != "@none":
                    val["@language"] = key.lower()
                out.append(val)
        return out
