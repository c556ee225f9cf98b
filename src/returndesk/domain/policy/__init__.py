"""Return decisions: the statutory floor per market, the store's versioned policy on top."""
