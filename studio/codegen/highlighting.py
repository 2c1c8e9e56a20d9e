"""Syntax highlighting of generated code as HTML (the only module that imports Pygments).

``highlight_html`` returns self-contained HTML with inline styles (no CSS classes), which Qt's rich
text widgets render as is. One light and one dark style match the application's themes.
"""

from __future__ import annotations

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from pygments.styles import get_style_by_name
from pygments.token import Text

__all__ = ["DARK_STYLE", "LIGHT_STYLE", "highlight_html"]

LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"

_LEXER = PythonLexer(stripnl=False, ensurenl=True)


def _text_color(style_name: str, fallback: str) -> str:
    color = get_style_by_name(style_name).style_for_token(Text).get("color")
    return f"#{color}" if color else fallback


_FORMATTERS = {
    dark: HtmlFormatter(
        style=name,
        noclasses=True,
        cssstyles=f"color: {_text_color(name, fallback)}",
        prestyles=f"color: {_text_color(name, fallback)}",
    )
    for dark, name, fallback in ((False, LIGHT_STYLE, "#000000"), (True, DARK_STYLE, "#e6edf3"))
}


def highlight_html(code: str, dark: bool = False) -> str:
    """``code`` as highlighted HTML: a ``<div>`` with the style's background and text color around a
    ``<pre>``; every token's color is an inline style."""
    return highlight(code, _LEXER, _FORMATTERS[dark])
