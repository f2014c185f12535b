"""Read-side views of the program console."""
