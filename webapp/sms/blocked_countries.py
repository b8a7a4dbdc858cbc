"""The regions SMS Central refuses to deliver to, kept as data so a migration can seed the
blocked-countries table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

SMSCENTRAL_EFFECTIVE = date(2023, 7, 14)

# Keyed by ISO region code because numbers are blocked by the region phonenumbers resolves, never by
# calling-code prefix: +358 covers Aland (blocked) and Finland (not), +1 covers Bermuda and the US.
# Names follow FastTrack360's list, so staff recognise them.
SMSCENTRAL_BLOCKED: Mapping[str, str] = MappingProxyType(
    {
        "AX": "Aland Islands",
        "AG": "Antigua and Barbuda",
        "BD": "Bangladesh",
        "BZ": "Belize",
        "BJ": "Benin",
        "BM": "Bermuda",
        "KH": "Cambodia",
        "IO": "Diego Garcia",
        "EC": "Ecuador",
        "MF": "French Antilles Martin",
        "GF": "French Guiana",
        "GP": "Guadeloupe",
        "GN": "Guinea",
        "GW": "Guinea-Bissau",
        "HT": "Haiti",
        "VA": "Holy See (Vatican City State)",
        "IR": "Iran",
        "IQ": "Iraq",
        "KZ": "Kazakhstan",
        "XK": "Kosovo",
        "MW": "Malawi",
        "MQ": "Martinique",
        "YT": "Mayotte",
        "MN": "Mongolia",
        "MM": "Myanmar",
        # FastTrack360 lists one "Netherlands Antilles"; phonenumbers resolves its three successors.
        "CW": "Netherlands Antilles (Curaçao)",
        "BQ": "Netherlands Antilles (Bonaire, Sint Eustatius and Saba)",
        "SX": "Netherlands Antilles (Sint Maarten)",
        "NE": "Niger",
        "PW": "Palau",
        "PG": "Papua New Guinea",
        "RE": "Reunion",
        "RW": "Rwanda",
        "KN": "Saint Kitts and Nevis",
        "LC": "Saint Lucia",
        "SO": "Somalia",
        # phonenumbers has no UM metadata (its numbers resolve as US), so this entry never matches
        # a parsed number; it is kept so the table mirrors SMS Central's list.
        "UM": "United States Minor Outlying Islands",
        "ZM": "Zambia",
    }
)
