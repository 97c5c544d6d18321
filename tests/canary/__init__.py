"""Privacy canary: every route runs with marked input, and no log may show a mark."""
