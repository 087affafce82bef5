"""The hall-rush baseline: a bare Flask app that parses the same ballot form and redirects.

Served exactly like evalsvc (gunicorn, 2 sync workers) and hit by the same client, it is
the ceiling of "Flask under gunicorn on this machine" that evalsvc's submit is compared to.
"""
from flask import Flask, redirect, request

FIELDS = ("quality", "organisation", "service", "work", "overall", "advice", "nonce")

app = Flask(__name__)


@app.get("/")
def index():
    """Readiness probe."""
    return "ok"


@app.route("/C/<code>", methods=["GET", "POST"])
def card(code: str):
    """Parse the ballot form (request.form, every field read) and redirect."""
    if request.method == "POST":
        answers = {key: request.form.get(key, "") for key in FIELDS}
        if not answers["nonce"]:
            return "missing nonce", 400
    return redirect(f"/thanks/{code}", code=302)
