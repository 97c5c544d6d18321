"""Nature-risk screening: the domain and the shared plumbing of every function.

Importing the package defers the Powertools packages whose ``__init__`` loads
what no function uses (see ``nature_risk.deferred_imports``).

The immutable records that every cold start defines (settings,
knowledge-base records, ISIC codes, code resolutions, input problems) are
named tuples. Python 3.13 compiles the generated methods of a dataclass when
it builds the class: a frozen dataclass with a dozen fields took about 1.3 ms
on the bench machine, and a named tuple class about 0.2 ms.
"""

from nature_risk.deferred_imports import defer_powertools_packages

defer_powertools_packages()
