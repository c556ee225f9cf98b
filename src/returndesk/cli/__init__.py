"""The `returndesk` command line; it goes through the same handlers as the web."""
