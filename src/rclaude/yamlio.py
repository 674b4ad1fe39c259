"""Safe YAML loading that remembers where every key came from.

Users' YAML (config, manifests) is parsed with PyYAML's *safe* composer, then turned
into plain Python data while recording the line of every mapping key, so errors can say
``file:line``. Alias expansion is bounded: a "billion laughs" document is rejected
quickly with bounded memory instead of being expanded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rclaude.errors import ValidationError, Where

#: Upper bound on nodes produced while expanding a document, aliases included.
MAX_NODES = 100_000
#: Upper bound on the size of a YAML document we agree to parse.
MAX_BYTES = 4 * 1024 * 1024


@dataclass
class LineMap:
    """Dotted key path (``aws.ec2.instanceType``, ``regions.0.name``) -> 1-based line."""

    file: str | None
    lines: dict[str, int] = field(default_factory=dict)

    def where(self, loc: tuple | list | str) -> Where:
        key = loc if isinstance(loc, str) else ".".join(str(p) for p in loc)
        line = self.lines.get(key)
        # Fall back to the closest parent that has a line.
        probe = key
        while line is None and "." in probe:
            probe = probe.rsplit(".", 1)[0]
            line = self.lines.get(probe)
        return Where(file=self.file, line=line, key=key or None)


def _error(msg: str, file: str | None, line: int | None, code: str, hint: str) -> ValidationError:
    return ValidationError(msg, code=code, hint=hint, where=Where(file=file, line=line))


def loads(text: str, *, file: str | None = None, error_cls=ValidationError) -> tuple[Any, LineMap]:
    """Parse ``text``; return ``(data, LineMap)``. Raises ``error_cls`` on bad YAML."""
    import yaml

    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise error_cls(
            f"YAML document is larger than {MAX_BYTES // 1024 // 1024} MiB",
            code="RC-YAML-003",
            hint="split the file or remove generated content",
            where=Where(file=file),
        )
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise error_cls(
            f"invalid YAML: {exc.problem or exc}",
            code="RC-YAML-001",
            hint="fix the syntax at the line shown (indentation, quotes, colons)",
            where=Where(file=file, line=line),
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - non-marked errors are rare
        raise error_cls(
            f"invalid YAML: {exc}", code="RC-YAML-001", where=Where(file=file)
        ) from None
    lm = LineMap(file=file)
    if node is None:
        return None, lm
    counter = [0]
    constructor = yaml.SafeLoader("")  # only used for scalar resolution

    def build(n, path: tuple[str, ...]):
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise error_cls(
                f"YAML document expands to more than {MAX_NODES} nodes",
                code="RC-YAML-002",
                hint="remove recursive or repeated anchors/aliases (&anchor / *alias)",
                where=Where(file=file, line=n.start_mark.line + 1),
            )
        if isinstance(n, yaml.MappingNode):
            out: dict = {}
            constructor.flatten_mapping(n)
            for k, v in n.value:
                key = constructor.construct_object(k, deep=True)
                if isinstance(key, (list, dict)):
                    raise error_cls(
                        "mapping keys must be scalars",
                        code="RC-YAML-004",
                        where=Where(file=file, line=k.start_mark.line + 1),
                    )
                sub = path + (str(key),)
                if key in out:
                    raise error_cls(
                        f"duplicate key '{key}'",
                        code="RC-YAML-005",
                        hint="remove one of the two entries",
                        where=Where(file=file, line=k.start_mark.line + 1, key=".".join(sub)),
                    )
                lm.lines.setdefault(".".join(sub), k.start_mark.line + 1)
                out[key] = build(v, sub)
            return out
        if isinstance(n, yaml.SequenceNode):
            items = []
            for i, v in enumerate(n.value):
                sub = path + (str(i),)
                lm.lines.setdefault(".".join(sub), v.start_mark.line + 1)
                items.append(build(v, sub))
            return items
        return constructor.construct_object(n, deep=True)

    return build(node, ()), lm


def load(path: str | Path, *, error_cls=ValidationError) -> tuple[Any, LineMap]:
    """Read and parse a YAML file (see :func:`loads`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error_cls(
            f"file not found: {p}", code="RC-YAML-006", where=Where(file=str(p))
        ) from None
    except UnicodeDecodeError as exc:
        raise error_cls(
            f"{p} is not UTF-8 text: {exc.reason}", code="RC-YAML-007", where=Where(file=str(p))
        ) from None
    return loads(text, file=str(p), error_cls=error_cls)


def dumps(data: Any) -> str:
    """Serialize plain data as block-style YAML, keys in insertion order."""
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
