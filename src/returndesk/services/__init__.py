"""Use cases: one handler per use case, each inside a unit of work that rolls back by default."""
