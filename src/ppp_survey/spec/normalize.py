"""Key normalisation for matching export headers and answer labels to the codebook.

Exports differ from the codebook in ways that do not change meaning: full-width vs half-width
characters, ideographic spaces (U+3000), stray whitespace and line breaks, numbering prefixes such
as ``①``, ``1.`` or ``(1)``, and full-width brackets. Only the *keys* used for matching are
normalised; stored labels always stay exactly as the codebook writes them.
"""

from __future__ import annotations

import re
import unicodedata

# Circled and parenthesised numbers must go before NFKC, which turns ① into a plain "1".
_CIRCLED = re.compile(r"^[\u2460-\u2473\u24ea\u24f5-\u24fe\u2776-\u2793\u3251-\u325f\u32b1-\u32bf]")
# After NFKC: "1." "1．" "1)" "(1)" "1:" "Q1." "問1." as a prefix followed by more text.
_NUMBERED = re.compile(r"^(?:\(\d{1,2}\)|(?:q|問)?\d{1,2}[.):](?!\d))")
_SPACE = re.compile(r"\s+")


def normalize_key(value: object) -> str:
    """Return the matching key of a header or label.

    Steps: circled-number prefix removed, Unicode NFKC (full-width letters, digits, brackets and
    the ideographic space become their ASCII forms), all whitespace removed, case folded, then a
    numbering prefix such as ``1.``, ``(1)`` or ``1)`` removed when more text follows it.

    Examples
    --------
    >>> normalize_key("①　重要である ")
    '重要である'
    >>> normalize_key("（1）企業（上下水道）")
    '企業(上下水道)'
    >>> normalize_key("20代以下")
    '20代以下'
    """
    text = spelled_key(_CIRCLED.sub("", "" if value is None else str(value).strip()))
    stripped = _NUMBERED.sub("", text)
    if stripped:
        return stripped
    return re.sub(r"\D", "", text) or text  # a bare number with its punctuation: "2." or "(2)" → "2"


def spelled_key(value: object) -> str:
    """The matching key with its numbering kept: NFKC, no whitespace, case folded. Tells apart two
    headers that differ only by their numbers (「Q4. その他（具体的に）」, 「Q5. その他（具体的に）」),
    which :func:`normalize_key` makes one.

    >>> spelled_key("Q4. その他（具体的に）")
    'q4.その他(具体的に)'
    """
    text = "" if value is None else str(value)
    return _SPACE.sub("", unicodedata.normalize("NFKC", text.strip())).casefold()
