"""The pure domain core. Imports nothing but the standard library and itself."""
