"""Password hashing (argon2) and signed access tokens (JWT)."""
