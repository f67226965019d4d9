"""Non-TUI views of session events: plain text and JSON for `kode ask`."""
