"""Rule languages for store policy conditions."""
