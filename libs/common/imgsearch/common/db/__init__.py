"""PostgreSQL: connection pool, versioned migrations, repositories."""
