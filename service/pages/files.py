"""Placeholder: filled in below."""

from __future__ import annotations

from flask import Blueprint, render_template

from service.pages.signin import signed_in

bp = Blueprint("files", __name__)


@bp.route("/files")
@signed_in("supervisor", "admin")
def index() -> str:
    return render_template("error.html", error={"title": "建设中", "detail": "", "status": 200})
