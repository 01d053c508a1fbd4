"""The one reader of JSON and YAML documents (configs, registries, scenarios, ``carbon compute`` input).

Python's and PyYAML's loaders accept what a mature tool refuses, and some of it stops a service:

- **Duplicate keys**: both keep the last one silently (``interval_s: 60`` then ``interval_s: 0.001``).
  Refused, naming the key, its mapping's path and (YAML) both lines.
- **Nesting** deeper than :attr:`Limits.max_depth`: ``json.loads`` raises ``RecursionError`` and PyYAML's
  composer recurses without bound. Refused while composing (YAML) or from the parsed tree (JSON).
- **Aliases that expand** (the "billion laughs": nine anchors each listing the previous one nine times make
  nine bytes into 9**9 nodes): PyYAML shares the aliased object, so loading is quick, but validating or
  dumping the document visits every expanded node. Anchors and aliases stay allowed (configs reuse a source
  citation); the document is refused once its expanded node count passes :attr:`Limits.max_nodes`, or when an
  alias refers to its own ancestor (a recursive document).
- **Size**: a file above :attr:`Limits.max_bytes` is refused before it is parsed.
- **Encoding**: UTF-8 (with or without a byte-order mark), and UTF-16/UTF-32 with a byte-order mark (what
  Windows editors save) are read; other bytes are refused with the line and byte offset of the first bad one.
- JSON's non-standard ``NaN``/``Infinity`` and numbers of more than 4,300 digits are refused too.

Every refusal is a :class:`LoadError` (a :class:`~blueranch.contracts.errors.ContractError`, reason
``bad_file``) whose violation names where in the file (line, column, dotted path), the value and the limit.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from blueranch.contracts.errors import NO_VALUE, ContractError, Violation, dotted_path


@dataclass(frozen=True)
class Limits:
    #: bytes of the file, checked before parsing
    max_bytes: int = 16 * 1024 * 1024
    #: nested mappings and lists (the top level is depth 1)
    max_depth: int = 64
    #: nodes of the document after YAML aliases are expanded (scalars count too)
    max_nodes: int = 1_000_000


DEFAULT_LIMITS = Limits()


class LoadError(ContractError):
    """A document that cannot be loaded: ``source`` (a path or ``stdin``) and one violation saying where."""

    def __init__(self, source: str, where: str, value: Any, rule: str):
        self.source = source
        super().__init__("bad_file", [Violation(where, value, rule)])
        self.args = (f"{source}: {self.violations[0]}",)

    def __str__(self) -> str:
        return self.args[0]


# ---------------------------------------------------------------- bytes and text
def read_bytes(path: Path | str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The file's bytes, at most ``limits.max_bytes`` of them; a :class:`LoadError` if it cannot be read."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(limits.max_bytes + 1)
    except OSError as exc:
        raise LoadError(str(path), "(file)", str(path), f"cannot be read: {exc.strerror or exc}") from None
    _check_size(data, str(path), limits)
    return data


def _check_size(data: bytes | str, source: str, limits: Limits) -> None:
    if len(data) > limits.max_bytes:
        size = "" if len(data) == limits.max_bytes + 1 else f"{len(data)} bytes, "  # read_bytes stopped at the limit
        raise LoadError(source, "(file)", NO_VALUE, f"is {size}larger than the limit of {limits.max_bytes} bytes")


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes, source: str) -> str:
    """UTF-8 text, or UTF-16/32 when a byte-order mark says so; a :class:`LoadError` naming the bad byte."""
    encoding, start = "utf-8", 0
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, start = name, len(bom)
            break
    if encoding == "utf-8" and b"\x00" in data:
        bad = data.index(b"\x00")
        line = data[:bad].count(b"\n") + 1
        raise LoadError(
            source,
            f"line {line}",
            NO_VALUE,
            f"a NUL byte at offset {bad}: the file is binary, or UTF-16 without a byte-order mark (save it as UTF-8)",
        )
    try:
        return data[start:].decode(encoding)
    except UnicodeDecodeError as exc:
        bad = start + exc.start
        line = data[:bad].count(b"\n") + 1 if encoding == "utf-8" else None
        where = f"line {line}" if line else "(file)"
        hint = (
            "is not UTF-8 (save the file as UTF-8; UTF-16 needs a byte-order mark)"
            if encoding == "utf-8"
            else f"is not valid {encoding.upper()}"
        )
        raise LoadError(source, where, NO_VALUE, f"byte 0x{data[bad]:02x} at offset {bad} {hint}") from None


def _text(data: bytes | str, source: str, limits: Limits) -> str:
    _check_size(data, source, limits)
    return decode(data, source) if isinstance(data, bytes) else data


# ---------------------------------------------------------------- JSON
def load_json(path: Path | str, limits: Limits = DEFAULT_LIMITS) -> Any:
    return parse_json(read_bytes(path, limits), str(path), limits)


def parse_json(data: bytes | str, source: str = "(input)", limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse a JSON document held in memory (``carbon compute --input -``) under ``limits``."""
    text = _text(data, source, limits)
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise LoadError(
            source, f"line {exc.lineno}, column {exc.colno}", NO_VALUE, f"is not valid JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise LoadError(
            source, "(file)", NO_VALUE, f"nests deeper than the limit of {limits.max_depth} levels"
        ) from None
    except ValueError as exc:  # NaN/Infinity (_constant), or an integer of more than 4,300 digits
        raise LoadError(source, "(file)", NO_VALUE, f"is not valid JSON: {exc}") from None
    _check_json_tree(doc, source, limits)
    return doc


class _Duplicates(dict):
    """A JSON object that had a key twice (only ever seen by :func:`_check_json_tree`, which refuses it)."""

    duplicate: str = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    seen: set[str] = set()
    out = _Duplicates(d)
    out.duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
    return out


def _constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _check_json_tree(doc: Any, source: str, limits: Limits) -> None:
    """Depth and duplicate keys of a parsed document, without recursion, with the dotted path."""
    stack: list[tuple[Any, tuple, int]] = [(doc, (), 1)]
    count = 0
    while stack:
        node, loc, depth = stack.pop()
        count += 1
        if isinstance(node, dict):
            if isinstance(node, _Duplicates):
                raise LoadError(
                    source, dotted_path(loc), node.duplicate, "is given twice in one object (a key may appear once)"
                )
            children = [(v, (*loc, k)) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(v, (*loc, i)) for i, v in enumerate(node)]
        else:
            continue
        if depth > limits.max_depth:
            raise LoadError(
                source, dotted_path(loc), NO_VALUE, f"nests deeper than the limit of {limits.max_depth} levels"
            )
        stack.extend((v, child_loc, depth + 1) for v, child_loc in children)


# ---------------------------------------------------------------- YAML
def load_yaml(path: Path | str, limits: Limits = DEFAULT_LIMITS) -> Any:
    return parse_yaml(read_bytes(path, limits), str(path), limits)


def parse_yaml(data: bytes | str, source: str = "(input)", limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse one YAML document (safe tags only) under ``limits``; an empty document is ``None``."""
    text = _text(data, source, limits)
    try:
        loader = _Loader(text, source, limits)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character)
        line = text[: exc.position].count("\n") + 1
        raise LoadError(
            source, f"line {line}", NO_VALUE, f"is not valid YAML: character #x{exc.character:04x}: {exc.reason}"
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        loader.paths = _check_expansion(node, source, limits)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise LoadError(source, where, NO_VALUE, f"is not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise LoadError(source, "(file)", NO_VALUE, f"is not valid YAML: {exc}") from None
    finally:
        loader.dispose()


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with a depth guard while composing and duplicate keys refused while constructing."""

    def __init__(self, text: str, source: str, limits: Limits):
        super().__init__(text)
        self.source = source
        self.limits = limits
        self.depth = 0
        self.paths: dict[int, tuple] = {}

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > self.limits.max_depth:
                mark = self.peek_event().start_mark
                raise LoadError(
                    self.source,
                    f"line {mark.line + 1}, column {mark.column + 1}",
                    NO_VALUE,
                    f"nests deeper than the limit of {self.limits.max_depth} levels",
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<: *base' merges; keys given beside it override the merged ones
                key = self.construct_object(key_node, deep=True)
                try:
                    line = first_line.get(key)
                except TypeError:  # an unhashable key: SafeConstructor refuses it with its own message
                    continue
                if line is not None:
                    where = dotted_path(self.paths.get(id(node), ()))
                    raise LoadError(
                        self.source,
                        f"line {key_node.start_mark.line + 1}, {where}",
                        key,
                        f"is given twice in one mapping (first on line {line}; a key may appear once)",
                    )
                first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root: yaml.Node, source: str, limits: Limits) -> dict[int, tuple]:
    """Count the document's nodes as if every alias were copied out, and its depth through aliases; refuse a
    recursive alias. Returns the first dotted path of each collection node (for error messages).

    Iterative post-order over the node graph with memoised sizes: an anchor used a million times costs one
    visit, so the check is linear in the written document whatever the expansion."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    paths: dict[int, tuple] = {id(root): ()}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for _, c in children)
            depth[key] = 1 + max((depth[id(c)] for _, c in children), default=0)
            if size[key] > limits.max_nodes:
                raise LoadError(
                    source,
                    f"line {node.start_mark.line + 1}, {dotted_path(paths.get(key, ()))}",
                    NO_VALUE,
                    f"expands to {size[key]} nodes, past the limit of {limits.max_nodes} nodes "
                    "(aliases that multiply: a 'billion laughs')",
                )
            if depth[key] > limits.max_depth:
                raise LoadError(
                    source,
                    f"line {node.start_mark.line + 1}, {dotted_path(paths.get(key, ()))}",
                    NO_VALUE,
                    f"nests deeper than the limit of {limits.max_depth} levels (through aliases)",
                )
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for part, child in children:
            ck = id(child)
            if ck in on_path:
                raise LoadError(
                    source,
                    f"line {child.start_mark.line + 1}",
                    NO_VALUE,
                    "is an alias of a mapping or list that contains it (recursive documents are refused)",
                )
            paths.setdefault(ck, (*paths.get(key, ()), part))
            if ck not in size:
                stack.append((child, False))
    return paths


def _children(node: yaml.Node) -> list[tuple[Any, yaml.Node]]:
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    if isinstance(node, yaml.MappingNode):
        out: list[tuple[Any, yaml.Node]] = []
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else "?"
            out += [(name, k), (name, v)]
        return out
    return []
