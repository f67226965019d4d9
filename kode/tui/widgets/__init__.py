"""The TUI's widgets: transcript items, tool cards, prompt, status line, agent panes."""
