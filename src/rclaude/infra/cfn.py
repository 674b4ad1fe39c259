"""CloudFormation as Python data: intrinsic-function helpers and template surgery.

Templates are plain dicts (``{"Ref": "Vpc"}``), serialized once with ``json.dumps``;
nothing is assembled from text. :func:`prune` removes resource types a target does not
support (moto's CloudFormation, for tests) together with everything that refers to
them, so the rest of the same template can still be deployed and inspected.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

Json = dict[str, Any]


def ref(name: str) -> Json:
    return {"Ref": name}


def att(name: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [name, attribute]}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def join(sep: str, items: list[Any]) -> Json:
    return {"Fn::Join": [sep, items]}


def az(index: int) -> Json:
    return {"Fn::Select": [index, {"Fn::GetAZs": ""}]}


def if_(condition: str, yes: Any, no: Any) -> Json:
    return {"Fn::If": [condition, yes, no]}


NO_VALUE = {"Ref": "AWS::NoValue"}


def tags(name: str, **extra: str) -> list[Json]:
    """Resource tags: a Name under the stack's name plus the rclaude markers."""
    items = {
        "Name": sub("${AWS::StackName}-" + name),
        "rclaude:managed-by": "rclaude",
        "rclaude:deployment": ref("Deployment"),
        **extra,
    }
    return [{"Key": k, "Value": v} for k, v in items.items()]


def dumps(template: Json, *, pretty: bool = True) -> str:
    """Deterministic JSON text for a template (what is deployed, diffed and golden-filed)."""
    if pretty:
        return json.dumps(template, indent=2, sort_keys=True) + "\n"
    return json.dumps(template, sort_keys=True, separators=(",", ":"))


def references(node: Any) -> set[str]:
    """Logical ids that ``node`` refers to (Ref, GetAtt, ${X} in Sub, DependsOn)."""
    import re

    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
                if isinstance(value, list):
                    found.update(references(value[1]))
            elif key == "DependsOn":
                found.update([value] if isinstance(value, str) else value)
            else:
                found.update(references(value))
    elif isinstance(node, list):
        for item in node:
            found.update(references(item))
    return found


def placeholder(logical_id: str) -> str:
    """What a reference to a pruned resource becomes: an ARN-shaped marker string."""
    return f"arn:aws:unsupported:us-east-1:123456789012:{logical_id}"


def _replace_refs(node: Any, removed: set[str]) -> Any:
    import re

    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in removed:
            return placeholder(node["Ref"])
        if set(node) == {"Fn::GetAtt"}:
            value = node["Fn::GetAtt"]
            target = value[0] if isinstance(value, list) else str(value).split(".")[0]
            if target in removed:
                return placeholder(target)
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            text = re.sub(
                r"\$\{([^}!.]+)(\.[^}]*)?\}",
                lambda m: placeholder(m.group(1)) if m.group(1) in removed else m.group(0),
                node["Fn::Sub"],
            )
            return {"Fn::Sub": text}
        return {
            k: _replace_refs(v, removed)
            for k, v in node.items()
            if not (k == "DependsOn" and v in removed)
        }
    if isinstance(node, list):
        return [_replace_refs(item, removed) for item in node]
    return node


def prune(template: Json, supported: Iterable[str]) -> tuple[Json, list[str]]:
    """A copy of ``template`` without resources whose type is not in ``supported``.

    References to a removed resource (Ref, GetAtt, ``${X}`` in Sub, DependsOn) inside
    the remaining resources become :func:`placeholder` strings, so roles, task
    definitions and the rest still deploy; outputs that refer to a removed resource are
    dropped. Returns the pruned template and the removed logical ids.
    """
    supported = set(supported)
    out = copy.deepcopy(template)
    resources: Json = out["Resources"]
    removed = {name for name, r in resources.items() if r["Type"] not in supported}
    for name in removed:
        del resources[name]
    for name in list(resources):
        resources[name] = _replace_refs(resources[name], removed)
    outputs = out.get("Outputs", {})
    for name in [n for n, o in outputs.items() if references(o) & removed]:
        del outputs[name]
    return out, sorted(removed)
