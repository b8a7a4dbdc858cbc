"""Count how many SMS parts a message costs, and which characters forced it out of GSM-7."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

GSM_SINGLE, GSM_MULTI = 160, 153
UCS_SINGLE, UCS_MULTI = 70, 67

# GSM 03.38 default alphabet; ESC (0x1B) is left out because it only ever prefixes the extension
# table.
GSM_BASIC: frozenset[str] = frozenset(
    "\n\r !\"#$%&'()*+,-./0123456789:;<=>?@"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
    "¡£¤¥§¿ÄÅÆÇÉÑÖØÜßàäåæèéìñòöøùü"
    "ΓΔΘΛΞΠΣΦΨΩ"
)
# Each costs escape + code, so 2 septets; some libraries get `\` and form feed wrong by counting 1.
GSM_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")
GSM_ALL: frozenset[str] = GSM_BASIC | GSM_EXTENSION


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """What one message costs to send."""

    characters: int
    units: int
    segments: int
    encoding: str
    forcing: tuple[str, ...]
    per_part: int


EMPTY = SegmentCount(
    characters=0, units=0, segments=0, encoding=GSM_7, forcing=(), per_part=GSM_SINGLE
)


def count(text: str) -> SegmentCount:
    """Count `text` as the network will bill it: GSM-7 when every character allows, else UCS-2."""
    if not text:
        return EMPTY
    chars = set(text)
    if chars <= GSM_BASIC:
        return _result(text, len(text), 0, GSM_7, (), GSM_SINGLE, GSM_MULTI, _gsm_width)
    if chars <= GSM_ALL:
        wide = sum(text.count(c) for c in chars & GSM_EXTENSION)
        return _result(text, len(text) + wide, wide, GSM_7, (), GSM_SINGLE, GSM_MULTI, _gsm_width)
    bad = chars - GSM_ALL
    forcing = tuple(dict.fromkeys(c for c in text if c in bad))
    wide = sum(text.count(c) for c in chars if c > "\uffff")
    return _result(
        text, len(text) + wide, wide, UCS_2, forcing, UCS_SINGLE, UCS_MULTI, _utf16_width
    )


def worst(counts: Iterable[SegmentCount]) -> SegmentCount | None:
    """The costliest message: most segments, then most units; None when there are none."""
    return max(counts, key=lambda c: (c.segments, c.units), default=None)


def _gsm_width(c: str) -> int:
    return 2 if c in GSM_EXTENSION else 1


def _utf16_width(c: str) -> int:
    return 2 if c > "\uffff" else 1


def _result(
    text: str,
    units: int,
    wide: int,
    encoding: str,
    forcing: tuple[str, ...],
    single: int,
    multi: int,
    width: Callable[[str], int],
) -> SegmentCount:
    if units <= single:
        segments, per_part = 1, single
    elif not wide:
        segments, per_part = -(-units // multi), multi
    else:
        segments, per_part = _pack(text, multi, width), multi
    return SegmentCount(len(text), units, segments, encoding, forcing, per_part)


def _pack(text: str, limit: int, width: Callable[[str], int]) -> int:
    # Greedy, because a 2-unit character (escape pair or surrogate pair) may not straddle parts,
    # which can leave a part one unit short and push the total past plain division.
    parts, used = 1, 0
    for c in text:
        w = width(c)
        if used + w > limit:
            parts, used = parts + 1, 0
        used += w
    return parts
