"""``python -m quantize`` runs the command line."""
from .cli import main

main()
