"""Policy documents shipped with ReturnDesk (the demo store's policy)."""
