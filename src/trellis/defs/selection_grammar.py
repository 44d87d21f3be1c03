"""The grammar of asset selection strings, and the parser that reports where one is wrong.

Two dialects share one LALR grammar (parsed with Lark, imported on first use):

- Dagster's selection syntax (1.10+): filters ``key:``, ``tag:k`` / ``tag:k=v``,
  ``kind:``, ``group:``, ``owner:``, ``code_location:``, ``table_name:``, values bare or
  in double quotes, ``*`` wildcards in ``key:`` values; ``*`` for every asset; ``and``,
  ``or``, ``not`` (also upper case), parentheses, ``roots(...)`` and ``sinks(...)``; and
  layers around a filter, a function or a parenthesised expression: ``+x`` / ``x+``
  (every layer up / down) and ``2+x`` / ``x+2`` (that many).
- The older clause form: an asset key written bare (``orders``, ``raw/orders``), with
  ``+`` for one layer per ``+`` and ``*`` for every layer (``*orders+``, ``++orders``),
  and comma-separated lists (``a,b``).

A layer written against a bare key keeps the older meaning (``+a`` is one layer up, as in
Dagster, which reads a bare key with its older parser). Precedence, tightest first:
layers, ``not``, ``and``, ``or``, the comma.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from trellis.core.errors import InvalidDefinitionError

if TYPE_CHECKING:
    from lark import Lark, Tree

# Keywords end where a key could not go on, and a bare key is never a keyword; filter
# names and function names are told apart from bare keys by the ':' or '(' after them.
GRAMMAR = r"""
start: expr ("," expr)*

?expr: and_expr
     | expr OR and_expr            -> or_
?and_expr: unary
     | and_expr AND unary          -> and_
?unary: NOT unary                  -> not_
     | term
?term: up atom down                -> layers
     | up atom                     -> layers
     | atom down                   -> layers
     | atom
     | legacy
     | STAR                        -> all
up: PLUS | UP_DEPTH
down: PLUS DIGITS?
?atom: ATTR value (EQUAL value)?   -> filter
     | FUNC "(" expr ")"           -> function
     | "(" expr ")"
legacy: legacy_up? BARE legacy_down?
legacy_up: STAR | PLUS+
legacy_down: STAR | PLUS+
value: QUOTED | VALUE

OR.2: /(?:or|OR)(?![\w.\/\-\[\]?])/
AND.2: /(?:and|AND)(?![\w.\/\-\[\]?])/
NOT.2: /(?:not|NOT)(?![\w.\/\-\[\]?])/
ATTR.3: /[A-Za-z_][A-Za-z0-9_]*[ \t]*:/
FUNC.3: /(?!(?:and|or|not|AND|OR|NOT)\b)[A-Za-z_][A-Za-z0-9_]*(?=[ \t]*\()/
UP_DEPTH.3: /\d+[ \t]*\+/
DIGITS: /\d+/
STAR: "*"
PLUS: "+"
EQUAL: "="
QUOTED: /"[^"\\\r\n]*"/
VALUE: /[\w.\-\/@*]+/
BARE: /(?!(?:and|or|not|AND|OR|NOT)(?![\w.\/\-\[\]?]))[\w.\-\/\[\]?]+/
%ignore /\s+/
"""

# How an error names what the parser expected, in the order it lists them; the operators
# after the first blank line only when nothing above is expected.
_EXPECTED = {
    "RPAR": "')'",
    "AND": "'and'",
    "OR": "'or'",
    "COMMA": "','",
    "ATTR": "a filter such as key:NAME",
    "BARE": "an asset key",
    "STAR": "'*'",
    "LPAR": "'('",
    "FUNC": "a function such as roots(...)",
    "VALUE": "a value",
    "QUOTED": 'a "quoted" value',
}
_EXPECTED_OPERATORS = {"PLUS": "'+'", "DIGITS": "a number of layers", "EQUAL": "'='"}


class SelectionSyntaxError(InvalidDefinitionError):
    """A selection string that is not a valid selection: names the string, the column
    (1-based) and what is wrong there, with a caret line under the string."""

    def __init__(self, text: str, column: int, problem: str) -> None:
        self.text = text
        self.column = column
        self.problem = problem
        super().__init__(self.describe("selection"))

    def describe(self, what: str) -> str:
        """The message, naming the string as ``what`` (``selection``, ``--select``)."""
        text, column = self.text, self.column
        where = "the end" if column > len(text) else f"column {column}"
        if not text.replace(",", " ").strip():
            where = "column 1"
        caret = " " * (column - 1) + "^"
        return f"Invalid {what} '{text}': {self.problem} at {where}\n  {text}\n  {caret}"


@cache
def _parser() -> Lark:
    from lark import Lark  # lazily: only selection strings need it

    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


def parse_selection_text(text: str) -> Tree[Any]:
    """The parse tree of ``text``; ``SelectionSyntaxError`` with the position when it is
    not a selection."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    if not text.replace(",", " ").strip():
        raise SelectionSyntaxError(text, 1, "the selection is empty; write '*' for every asset")
    try:
        return _parser().parse(text)
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise SelectionSyntaxError(
                text, len(text) + 1, _expected(text, len(text), exc.expected)
            ) from None
        column = exc.column if isinstance(exc.column, int) and exc.column > 0 else 1
        problem = f"unexpected '{exc.token}'"
        expected = _expected(text, column - 1, exc.expected)
        raise SelectionSyntaxError(text, column, f"{problem}; {expected}") from None
    except UnexpectedCharacters as exc:
        pos = exc.pos_in_stream if isinstance(exc.pos_in_stream, int) else 0
        char = text[pos] if pos < len(text) else ""
        hint = ' (a quoted value ends with " on the same line)' if char == '"' else ""
        raise SelectionSyntaxError(text, pos + 1, f"unexpected character '{char}'{hint}") from None
    except UnexpectedInput as exc:  # pragma: no cover - the two above are all LALR raises
        raise SelectionSyntaxError(text, 1, str(exc)) from None


def _expected(text: str, upto: int, terminals: set[str]) -> str:
    """``expected ')'`` when a parenthesis is left open before ``upto``, else a short
    list of what could come next."""
    before = text[:upto]
    if "RPAR" in terminals and before.count("(") > before.count(")"):
        return "expected ')'"
    names = [label for name, label in _EXPECTED.items() if name in terminals and name != "RPAR"]
    if not names:
        names = [label for name, label in _EXPECTED_OPERATORS.items() if name in terminals]
    if not names:
        return "expected more"
    if len(names) == 1:
        return f"expected {names[0]}"
    return f"expected {', '.join(names[:-1])} or {names[-1]}"
