"""Reading terraform/ in tests: python-hcl2's output made plain, variable types, policy statements.

python-hcl2 8 keeps HCL's quotes (`'"Service"'`), wraps expressions in `${...}` and marks blocks with
`__is_block__`; `load_hcl` strips all three so tests read plain values. `TypeExpr` parses a variable's
type constraint (string, number, bool, any, list/set/map(T), object({...}) with optional(T[, default]),
tuple([...])) and `type_errors` checks a JSON value against it the way Terraform converts variables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM = ROOT / "terraform"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            _unquote(key): _plain(item)
            for key, item in value.items()
            if key not in ("__is_block__", "__comments__", "__inline_comments__")
        }
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    if text.startswith("${") and text.endswith("}") and "${" not in text[2:]:
        return text[2:-1]
    return text


def load_hcl(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return _plain(hcl2.load(handle))


@dataclass(frozen=True)
class Module:
    """The blocks of every .tf file in one folder, by kind: resources and data sources as
    {(type, name): body}, variables/outputs/module calls as {name: body}, locals merged."""

    folder: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> Module:
        module = cls(folder)
        for path in sorted(folder.glob("*.tf")):
            document = load_hcl(path)
            for kind, target in (("resource", module.resources), ("data", module.data)):
                for block in document.get(kind, []):
                    for type_name, named in block.items():
                        for name, body in named.items():
                            target[(type_name, name)] = body
            for kind, target in (
                ("variable", module.variables),
                ("output", module.outputs),
                ("module", module.modules),
            ):
                for block in document.get(kind, []):
                    target.update(block)
            for block in document.get("locals", []):
                module.locals.update(block)
        return module


def tf_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


# --- variable types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeExpr:
    kind: str  # string, number, bool, any, list, set, map, object, tuple
    element: TypeExpr | None = None
    attributes: tuple[tuple[str, TypeExpr, bool], ...] = ()  # object: (name, type, optional)
    elements: tuple[TypeExpr, ...] = ()  # tuple

    @classmethod
    def parse(cls, text: str) -> TypeExpr:
        parser = _TypeParser(text)
        expr = parser.expr()
        parser.end()
        return expr


_TOKEN = re.compile(
    r'\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[(){}\[\],=])|(?P<literal>"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?))'
)


class _TypeParser:
    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        position = 0
        text = text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None:
                if text[position:].strip() == "":
                    break
                raise ValueError(f"cannot read type at {text[position:]!r}")
            self.tokens.append(match.group(match.lastgroup or "word"))
            position = match.end()
        self.index = 0

    def peek(self) -> str:
        return self.tokens[self.index] if self.index < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, got {token!r} in type {' '.join(self.tokens)}")
        self.index += 1
        return token

    def end(self) -> None:
        if self.index != len(self.tokens):
            raise ValueError(f"unexpected {self.peek()!r} in type {' '.join(self.tokens)}")

    def expr(self) -> TypeExpr:
        word = self.take()
        if word in ("string", "number", "bool", "any"):
            return TypeExpr(word)
        if word in ("list", "set", "map"):
            self.take("(")
            element = self.expr()
            self.take(")")
            return TypeExpr(word, element=element)
        if word == "object":
            self.take("(")
            self.take("{")
            attributes = []
            while self.peek() != "}":
                name = self.take()
                self.take("=")
                optional = self.peek() == "optional"
                if optional:
                    self.take()
                    self.take("(")
                    attribute = self.expr()
                    if self.peek() == ",":  # optional(T, default): the default is not a type
                        self.take()
                        self._skip_value()
                    self.take(")")
                else:
                    attribute = self.expr()
                attributes.append((name, attribute, optional))
                if self.peek() == ",":
                    self.take()
            self.take("}")
            self.take(")")
            return TypeExpr("object", attributes=tuple(attributes))
        if word == "tuple":
            self.take("(")
            self.take("[")
            elements = []
            while self.peek() != "]":
                elements.append(self.expr())
                if self.peek() == ",":
                    self.take()
            self.take("]")
            self.take(")")
            return TypeExpr("tuple", elements=tuple(elements))
        raise ValueError(f"unknown type {word!r}")

    def _skip_value(self) -> None:
        depth = 0
        while True:
            token = self.peek()
            if token in ("(", "{", "["):
                depth += 1
            elif token in (")", "}", "]"):
                if depth == 0:
                    return
                depth -= 1
            elif token == "":
                raise ValueError("unterminated optional() default")
            self.take()


def type_errors(value: Any, expected: TypeExpr, where: str = "") -> list[str]:
    """What keeps `value` (from a .tfvars.json file) from converting to `expected`, one line each."""
    here = where or "value"
    kind = expected.kind
    if kind == "any":
        return []
    if value is None:
        return []  # null is accepted for any type; whether it is allowed is the validation's call
    if kind == "string":
        ok = isinstance(value, str | int | float) and not isinstance(value, bool)
        return [] if ok else [f"{here}: expected a string, got {value!r}"]
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{here}: expected a number, got {value!r}"]
    if kind == "bool":
        return [] if isinstance(value, bool) else [f"{here}: expected a bool, got {value!r}"]
    if kind in ("list", "set"):
        if not isinstance(value, list):
            return [f"{here}: expected a {kind}, got {value!r}"]
        assert expected.element is not None
        return [
            e for i, item in enumerate(value) for e in type_errors(item, expected.element, f"{here}[{i}]")
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{here}: expected a map, got {value!r}"]
        assert expected.element is not None
        return [e for k, item in value.items() for e in type_errors(item, expected.element, f"{here}.{k}")]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{here}: expected an object, got {value!r}"]
        errors = []
        declared = {name for name, _, _ in expected.attributes}
        errors += [
            f"{here}.{extra}: not an attribute of the declared object" for extra in set(value) - declared
        ]
        for name, attribute, optional in expected.attributes:
            if name not in value:
                if not optional:
                    errors.append(f"{here}.{name}: required attribute missing")
                continue
            errors += type_errors(value[name], attribute, f"{here}.{name}")
        return errors
    if kind == "tuple":
        if not isinstance(value, list) or len(value) != len(expected.elements):
            return [f"{here}: expected a tuple of {len(expected.elements)}, got {value!r}"]
        return [
            e
            for i, (item, t) in enumerate(zip(value, expected.elements, strict=True))
            for e in type_errors(item, t, f"{here}[{i}]")
        ]
    raise AssertionError(kind)


# --- IAM policy documents ------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: Any  # a list of strings, or an expression string
    conditions: tuple[dict[str, Any], ...]
    only_when: str = ""  # the for_each of the dynamic block it sits in, if any


def statements(document: dict[str, Any]) -> list[Statement]:
    """Every statement of an `aws_iam_policy_document` body, dynamic ones included."""
    found = [_statement(body) for body in document.get("statement", [])]
    for dynamic in document.get("dynamic", []):
        for label, block in dynamic.items():
            if label != "statement":
                continue
            for body in block.get("content", []):
                found.append(_statement(body, only_when=block.get("for_each", "")))
    return found


def _statement(body: dict[str, Any], only_when: str = "") -> Statement:
    actions = body.get("actions", [])
    return Statement(
        sid=body.get("sid", ""),
        effect=body.get("effect", "Allow"),
        actions=tuple(actions) if isinstance(actions, list) else (actions,),
        resources=body.get("resources", []),
        conditions=tuple(body.get("condition", [])),
        only_when=only_when,
    )
