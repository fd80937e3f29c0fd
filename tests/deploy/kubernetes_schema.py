"""Offline, strict validation of Kubernetes manifests against the official Python client's models.

Each document is checked field by field against the model of its ``apiVersion``/``kind``
(``kubernetes.client.models``): unknown fields, wrong types and missing required fields are errors, each
with its path. Nothing is fetched; the schema is the client's (generated from the Kubernetes OpenAPI).
"""

from __future__ import annotations

import re
from typing import Any

import kubernetes.client as k8s
from kubernetes.client import ApiClient

_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "bytes": (str,),
    "datetime": (str,),
    "date": (str,),
    "object": (object,),  # int-or-string, free-form (e.g. quantities)
}


def model_name(api_version: str, kind: str) -> str:
    """``apps/v1`` + ``Deployment`` -> ``V1Deployment``; ``autoscaling/v2`` -> ``V2...``."""
    version = api_version.rsplit("/", 1)[-1]
    return version[0].upper() + version[1:] + kind


def _check(value: Any, type_name: str, path: str, errors: list[str]) -> None:
    if value is None:
        return
    if match := re.fullmatch(r"List\[(.+)\]", type_name):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for index, item in enumerate(value):
            _check(item, match.group(1), f"{path}[{index}]", errors)
        return
    if match := re.fullmatch(r"Dict\[str, (.+)\]", type_name):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping, got {type(value).__name__}")
            return
        for key, item in value.items():
            _check(item, match.group(1), f"{path}.{key}", errors)
        return
    if type_name in _PRIMITIVES:
        expected = _PRIMITIVES[type_name]
        if not isinstance(value, expected) or (type_name == "int" and isinstance(value, bool)):
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__} {value!r}")
        return
    model = getattr(k8s, type_name)
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({type_name}), got {type(value).__name__}")
        return
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            errors.append(f"{path}.{key}: unknown field of {type_name}")
            continue
        _check(item, model.openapi_types[by_json[key]], f"{path}.{key}", errors)


def validate(document: dict[str, Any]) -> list[str]:
    """Every problem with one manifest, as ``path: message`` lines (empty when valid)."""
    kind, api_version = document.get("kind"), document.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str):
        return ["$: apiVersion and kind are required"]
    name = model_name(api_version, kind)
    if not hasattr(k8s, name):
        return [f"$: no model {name} for {api_version} {kind}"]
    errors: list[str] = []
    _check(document, name, kind, errors)
    if not errors:  # required fields and enums: the models' own client-side validation
        try:
            ApiClient()._ApiClient__deserialize(document, name)  # type: ignore[attr-defined]
        except (ValueError, TypeError) as exc:
            errors.append(f"{kind}: {exc}")
    return errors
