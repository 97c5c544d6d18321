"""Media types of uploaded portfolios, kept apart so that importing them is cheap.

The API description imports them at cold start without loading pandas.
"""

from __future__ import annotations

# Media types a client or a browser may give a CSV file, which the file part
# of a form upload may carry. Browsers on Windows machines with Excel label
# .csv uploads application/vnd.ms-excel, and some clients send octet-stream.
CSV_MEDIA_TYPES = frozenset(
    {
        "text/csv",
        "application/csv",
        "text/x-csv",
        "application/x-csv",
        "text/comma-separated-values",
        "text/x-comma-separated-values",
        "text/tab-separated-values",
        "text/plain",
        "application/vnd.ms-excel",
        "application/octet-stream",
    }
)
