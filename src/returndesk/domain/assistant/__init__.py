"""The assistant's pure core: intents, what a message mentions, and what to do next."""
