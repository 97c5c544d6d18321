"""PostgreSQL storage: the TLS connection, the migrations runner, repositories."""
