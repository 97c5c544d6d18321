"""Nature-risk screening: the domain and the shared plumbing of every function."""
