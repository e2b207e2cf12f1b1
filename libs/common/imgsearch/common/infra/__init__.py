"""Start the embedded default's infrastructure from wheels: nats-server and PostgreSQL."""
