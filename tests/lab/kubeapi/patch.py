"""The three PATCH flavours kubectl and the Python client send.

* ``application/json-patch+json``: RFC 6902, applied with the ``jsonpatch`` library.
* ``application/merge-patch+json``: RFC 7386, a dozen lines, written here.
* ``application/strategic-merge-patch+json``: Kubernetes' own. For the fields this lab serves
  (node ``spec.unschedulable``, labels, annotations, status) it is a merge patch where ``null``
  deletes; list-merge keys and ``$patch``/``$retainKeys`` directives are handled only for the
  ``$patch: delete|replace`` map directive, which is all kubectl cordon/uncordon/label need.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch


class PatchError(ValueError):
    """The patch cannot be applied (422/400 in the real API server)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Merge patch plus the ``$patch`` map directive (see the module docstring for the limits)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        merged = strategic_merge_patch(result.get(key), value)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    return result


def apply_patch(obj: dict[str, Any], content_type: str, body: Any) -> dict[str, Any]:
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json-patch+json":
        if not isinstance(body, list):
            raise PatchError("json patch must be a list of operations")
        try:
            return jsonpatch.apply_patch(obj, body)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise PatchError(str(exc)) from None
    if not isinstance(body, dict):
        raise PatchError("patch body must be a JSON object")
    if ctype == "application/merge-patch+json":
        return merge_patch(obj, body)
    if ctype == "application/strategic-merge-patch+json":
        return strategic_merge_patch(obj, body)
    raise PatchError(f"unsupported patch type {ctype!r}")
