"""A signed-in user's home page: what is waiting for their office, with counts and deadlines."""
from flask_login import current_user, login_required

from . import bp
from ..models import Role
from ..web import render_page
from ..workflow import home
from ..workflow.calendar import today_local


@bp.route("/home")
@login_required
def index():
    """Every kind of work waiting for this user's office, the nearest deadline first."""
    today = today_local()
    items = sorted(home.waiting(current_user, today),
                   key=lambda i: (i["due"] is None, i["due"] or today))
    office = current_user.org if current_user.role != Role.applicant.value else None
    return render_page("home/index.html", items=items, today=today, office=office)
