"""The Typer command-line layer: parses options, calls the library, renders results."""
