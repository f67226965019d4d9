"""One module per schema revision; frozen once released."""
