"""What a widget accepts: CSS colours and the host names of the pages that embed it."""

from __future__ import annotations

import ipaddress
import re

import marshmallow as ma

HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
NUMBER = r"\s*-?(?:\d+(?:\.\d+)?|\.\d+)(?:%|deg)?\s*"
FUNCTION_COLOUR = re.compile(
    rf"(?:rgba?|hsla?)\({NUMBER}(?:,{NUMBER}){{2}}(?:,{NUMBER})?\)"
    rf"|(?:rgb|hsl)\({NUMBER}(?:\s{NUMBER}){{2}}(?:/{NUMBER})?\)",
    re.IGNORECASE,
)
COLOUR_NAMES = """
    aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue
    blueviolet brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk
    crimson cyan darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki
    darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen
    darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue
    dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite
    gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki
    lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan
    lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen
    lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime limegreen linen
    magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen
    mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream
    mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid
    palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum
    powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown
    seagreen seashell sienna silver skyblue slateblue slategray slategrey snow springgreen
    steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow
    yellowgreen
"""
NAMED_COLOURS = frozenset(COLOUR_NAMES.split())
HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def is_css_colour(value: str) -> bool:
    """A hex, ``rgb()``/``hsl()`` or named CSS colour."""
    value = value.strip()
    return bool(
        HEX_COLOUR.fullmatch(value)
        or FUNCTION_COLOUR.fullmatch(value)
        or value.lower() in NAMED_COLOURS
    )


def is_host_name(value: str) -> bool:
    """A DNS host name such as ``help.example.com``, optionally ``*.example.com``."""
    name = value[2:] if value.startswith("*.") else value
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    return all(HOST_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


def is_allowed_domain(value: str) -> bool:
    """What ``allowed_domains`` accepts: ``*``, or a host name or IPv4 address with an optional
    ``:port`` (``help.example.com``, ``*.example.com``, ``localhost:5000``, ``127.0.0.1:8000``).
    """
    if value == "*":
        return True
    host, separator, port = value.rpartition(":") if ":" in value else (value, "", "")
    if separator and not (port.isdigit() and 0 < int(port) < 65536):
        return False
    return is_host_name(host) or is_ipv4_address(host)


def is_ipv4_address(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
    except ValueError:
        return False


def validate_colour(value: str) -> None:
    if not is_css_colour(value):
        raise ma.ValidationError("Not a CSS colour (e.g. #1a73e8, rgb(26 115 232), teal).")


def validate_allowed_domain(value: str) -> None:
    if not is_allowed_domain(value):
        raise ma.ValidationError(
            f"{value!r} is not a host name (e.g. help.example.com, *.example.com, "
            "localhost:5000 or *; no scheme or path)."
        )
