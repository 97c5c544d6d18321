"""Nature-risk screening: the domain and the shared plumbing of every function.

Importing the package defers the Powertools packages whose ``__init__`` loads
what no function uses (see ``nature_risk.deferred_imports``).

The immutable records that every cold start defines (settings,
knowledge-base records, ISIC codes, code resolutions, input problems) are
named tuples, because
Python 3.13 builds a named tuple class about six times faster than a frozen
dataclass, whose generated methods it compiles.
"""

from nature_risk.deferred_imports import defer_powertools_packages

defer_powertools_packages()
