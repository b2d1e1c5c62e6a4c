"""Parse MLflow's run-search language: filters and order-by clauses.

Grammar (keywords are case-insensitive; clauses are joined by AND only, as in MLflow)::

    filter     := clause ("AND" clause)*
    clause     := ident comparator value | ident "IS" ["NOT"] "NULL"
    ident      := prefix "." key          prefix: metrics params tags attributes datasets
    key        := bare-word | `backticked` | "double quoted"
    comparator := = != <> > >= < <= LIKE ILIKE [NOT] IN
    value      := number | 'string' | "string" | "(" string ("," string)* ")"
    order_by   := ident ["ASC" | "DESC"]

Errors are :class:`~loopml.errors.FilterSyntaxError` pointing at the offending token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from loopml.errors import FilterSyntaxError

Kind = Literal["metric", "param", "tag", "attribute", "dataset"]

PREFIXES: dict[str, Kind] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}
STRING_ATTRIBUTES = {"run_id", "run_name", "status", "user_id", "artifact_uri", "lifecycle_stage"}
NUMERIC_ATTRIBUTES = {"start_time", "end_time", "created", "experiment_id"}
ATTRIBUTE_ALIASES = {"created": "start_time", "run_uuid": "run_id", "name": "run_name"}
DATASET_KEYS = {"name", "digest", "context"}
NUMERIC_OPS = {"=", "!=", ">", ">=", "<", "<="}
STRING_OPS = {"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
  | (?P<backtick>`[^`]*`)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<op>!=|<>|>=|<=|=|>|<)
  | (?P<punct>[(),.])
  | (?P<word>[A-Za-z_][\w\-/:]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token with its 0-based character position."""

    kind: str
    text: str
    position: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ``kind.key op value`` clause of a filter."""

    kind: Kind
    key: str
    op: str
    value: float | str | tuple[str, ...] | None
    position: int


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One order-by clause."""

    kind: Kind
    key: str
    ascending: bool


def tokenize(text: str) -> list[Token]:
    """Split a filter into tokens; an unknown character is a FilterSyntaxError."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterSyntaxError(f"unexpected character {text[pos]!r}", text, pos)
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def error(self, message: str, token: Token | None = None) -> FilterSyntaxError:
        pos = token.position if token else len(self.text)
        return FilterSyntaxError(message, self.text, pos)

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise self.error("the filter ended early; a clause needs `name operator value`")
        self.i += 1
        return tok

    def keyword(self, tok: Token | None, *words: str) -> bool:
        return tok is not None and tok.kind == "word" and tok.text.upper() in words

    def identifier(self) -> tuple[Kind, str, Token]:
        head = self.take()
        if head.kind != "word":
            raise self.error(
                f"expected a name like metrics.rmse, got {head.text!r}; keys with spaces or "
                "symbols go in backticks: metrics.`my metric`",
                head,
            )
        if head.text.lower() not in PREFIXES:
            raise self.error(
                f"{head.text!r} is not a known prefix; use metrics., params., tags., "
                "attributes. or datasets.",
                head,
            )
        kind = PREFIXES[head.text.lower()]
        dot = self.take()
        if dot.text != ".":
            raise self.error(f"expected '.' after {head.text!r}, got {dot.text!r}", dot)
        key_tok = self.take()
        if key_tok.kind == "backtick":
            key = key_tok.text[1:-1]
        elif key_tok.kind == "string" and key_tok.text.startswith('"'):
            key = _unquote(key_tok.text)
        elif key_tok.kind in ("word", "number"):
            key = key_tok.text
            while (nxt := self.peek()) is not None and nxt.text == "." and self._word_after():
                self.i += 1
                key += "." + self.take().text
        else:
            raise self.error(f"expected a key after {head.text}., got {key_tok.text!r}", key_tok)
        if not key:
            raise self.error("the key is empty", key_tok)
        return kind, self._check_key(kind, key, key_tok), head

    def _word_after(self) -> bool:
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        return (
            nxt is not None
            and nxt.kind in ("word", "number")
            and not self.keyword(
                nxt, "AND", "OR", "LIKE", "ILIKE", "IN", "NOT", "IS", "ASC", "DESC"
            )
        )

    def _check_key(self, kind: Kind, key: str, tok: Token) -> str:
        if kind == "attribute":
            key = ATTRIBUTE_ALIASES.get(key, key)
            if key not in STRING_ATTRIBUTES | NUMERIC_ATTRIBUTES:
                valid = ", ".join(sorted(STRING_ATTRIBUTES | NUMERIC_ATTRIBUTES))
                raise self.error(f"unknown attribute {key!r}; valid attributes: {valid}", tok)
        if kind == "dataset" and key not in DATASET_KEYS:
            raise self.error(f"unknown dataset field {key!r}; use name, digest or context", tok)
        return key

    def operator(self) -> str:
        tok = self.take()
        if tok.kind == "op":
            return "!=" if tok.text == "<>" else tok.text
        word = tok.text.upper() if tok.kind == "word" else ""
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        if word == "NOT":
            nxt = self.take()
            if self.keyword(nxt, "IN"):
                return "NOT IN"
            if self.keyword(nxt, "LIKE", "ILIKE"):
                return f"NOT {nxt.text.upper()}"
            raise self.error(f"expected IN or LIKE after NOT, got {nxt.text!r}", nxt)
        if word == "IS":
            nxt = self.take()
            if self.keyword(nxt, "NOT"):
                nxt = self.take()
                if self.keyword(nxt, "NULL"):
                    return "IS NOT NULL"
            elif self.keyword(nxt, "NULL"):
                return "IS NULL"
            raise self.error(f"expected NULL or NOT NULL after IS, got {nxt.text!r}", nxt)
        raise self.error(
            f"expected a comparison operator (= != > >= < <= LIKE ILIKE IN), got {tok.text!r}",
            tok,
        )

    def clause(self) -> Comparison:
        kind, key, head = self.identifier()
        op_tok = self.peek()
        op = self.operator()
        numeric = kind == "metric" or (kind == "attribute" and key in NUMERIC_ATTRIBUTES)
        allowed = NUMERIC_OPS if numeric else STRING_OPS | {"NOT LIKE", "NOT ILIKE"}
        if kind == "attribute" and key == "run_id":
            allowed = {"=", "!=", "IN", "NOT IN", "LIKE", "ILIKE"}
        if op not in allowed:
            raise self.error(
                f"operator {op} does not apply to {head.text}.{key}; use one of "
                + ", ".join(sorted(allowed)),
                op_tok,
            )
        if op in ("IS NULL", "IS NOT NULL"):
            if kind not in ("param", "tag"):
                raise self.error(f"IS NULL only applies to params and tags, not {kind}s", op_tok)
            return Comparison(kind, key, op, None, head.position)
        if op in ("IN", "NOT IN"):
            return Comparison(kind, key, op, self.string_list(), head.position)
        val = self.take()
        if numeric:
            if val.kind != "number":
                raise self.error(
                    f"{head.text}.{key} compares numbers, got {val.text!r}; write a number "
                    f"without quotes, e.g. {head.text}.{key} {op} 0.5",
                    val,
                )
            return Comparison(kind, key, op, float(val.text), head.position)
        if val.kind != "string":
            raise self.error(
                f"{head.text}.{key} compares strings, got {val.text!r}; quote the value: "
                f"{head.text}.{key} {op} '{val.text}'",
                val,
            )
        return Comparison(kind, key, op, _unquote(val.text), head.position)

    def string_list(self) -> tuple[str, ...]:
        open_tok = self.take()
        if open_tok.text != "(":
            raise self.error("IN needs a parenthesised list, e.g. ('a', 'b')", open_tok)
        values = []
        while True:
            tok = self.take()
            if tok.kind != "string":
                raise self.error(f"expected a quoted string in the IN list, got {tok.text!r}", tok)
            values.append(_unquote(tok.text))
            sep = self.take()
            if sep.text == ")":
                return tuple(values)
            if sep.text != ",":
                raise self.error(f"expected ',' or ')' in the IN list, got {sep.text!r}", sep)


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1]
    if quote == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body)


def parse_filter(text: str | None) -> list[Comparison]:
    """Parse a filter string into comparisons joined by AND (empty for None or blank)."""
    if text is None or not text.strip():
        return []
    parser = _Parser(text)
    clauses = [parser.clause()]
    while (tok := parser.peek()) is not None:
        if parser.keyword(tok, "OR"):
            raise parser.error(
                "OR is not supported (as in MLflow); run one search per alternative", tok
            )
        if not parser.keyword(tok, "AND"):
            raise parser.error(f"expected AND between clauses, got {tok.text!r}", tok)
        parser.take()
        clauses.append(parser.clause())
    return clauses


def parse_order_by(clauses: list[str] | None) -> list[OrderBy]:
    """Parse order-by clauses such as ``metrics.rmse DESC`` (ascending by default)."""
    result = []
    for clause in clauses or []:
        parser = _Parser(clause)
        kind, key, _ = parser.identifier()
        if kind == "dataset":
            raise parser.error("runs cannot be ordered by dataset fields")
        ascending = True
        tok = parser.peek()
        if tok is not None:
            if not parser.keyword(tok, "ASC", "DESC"):
                raise parser.error(f"expected ASC or DESC, got {tok.text!r}", tok)
            ascending = tok.text.upper() == "ASC"
            parser.take()
            if (extra := parser.peek()) is not None:
                raise parser.error(f"unexpected {extra.text!r} after the direction", extra)
        result.append(OrderBy(kind, key, ascending))
    return result
