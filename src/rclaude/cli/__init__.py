"""Command-line interface: parses, calls the library, renders. No business logic here."""
