"""The return case aggregate: lines, status, transition table, guards, timeline."""
