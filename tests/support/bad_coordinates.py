"""The table of coordinates every entry point must refuse: non-finite, overflowing, out of range, malformed, empty."""

# (label, lon, lat) where None stands for the good value of the place tested.
BAD = [
    ("nan", "nan", "nan"),
    ("NaN lat", None, "NaN"),
    ("inf", "inf", None),
    ("-inf", "-inf", None),
    ("Infinity", "Infinity", None),
    ("1e400", "1e400", None),
    ("-1e400 lat", None, "-1e400"),
    ("lon 181", "181", None),
    ("lat -91", None, "-91"),
    ("hex", "0x79", None),
    ("underscore", "12_1.4", None),
    ("full-width digits", "１２１.４", None),
    ("empty", "", ""),
    ("lat missing", None, ""),
]
# The same as JSON numbers (the JSON reader makes floats of these tokens unless refused).
BAD_JSON = ['{"lon": NaN, "lat": NaN}', '{"lon": Infinity, "lat": 31.1}', '{"lon": -Infinity, "lat": 31.1}',
            '{"lon": 1e400, "lat": 31.1}', '{"lon": 121.4, "lat": 1e999}', '{"lon": 181, "lat": 31.1}',
            '{"lon": true, "lat": 31.1}', '{"lon": [121.4], "lat": 31.1}']


def positions(spot) -> list[tuple[str, str, str]]:
    """The BAD table with the spot's own coordinates filled in: (label, lon, lat) as text."""
    return [(label, str(spot["lon"]) if lon is None else lon, str(spot["lat"]) if lat is None else lat)
            for label, lon, lat in BAD]
