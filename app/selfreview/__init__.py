from flask import Blueprint, request

bp = Blueprint("selfreview", __name__, url_prefix="/<tenant>/self-review")


def uploaded_documents(keys) -> dict[str, tuple[str, bytes]]:
    """The rule documents sent with the form ({key: (filename, bytes)}), those chosen only."""
    documents = {}
    for key in keys:
        upload = request.files.get(key)
        if upload is not None and upload.filename:
            documents[key] = (upload.filename, upload.read())
    return documents


from . import routes  # noqa: E402,F401
from . import run  # noqa: E402,F401
