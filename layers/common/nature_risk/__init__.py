"""Nature-risk screening: the domain and the shared plumbing of every function.

Importing the package defers the Powertools packages whose ``__init__`` loads
what no function uses (see ``nature_risk.deferred_imports``).
"""

from nature_risk.deferred_imports import defer_powertools_packages

defer_powertools_packages()
