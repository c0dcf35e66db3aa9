"""`rasd rules ...`: the rules file and the rules index (being built)."""
from __future__ import annotations

import typer

rules_app = typer.Typer(no_args_is_help=True, help="Keyword alert rules: edit the rules file, sync it, try a rule.")
