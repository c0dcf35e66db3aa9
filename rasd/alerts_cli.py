"""`rasd notify` and `rasd alerts ...` (being built)."""
from __future__ import annotations

import typer

alerts_app = typer.Typer(no_args_is_help=True, help="Alerts the rules raised.")
