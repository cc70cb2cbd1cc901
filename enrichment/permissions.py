"""Who may operate the enrichment pipeline.

``is_staff`` only opens the admin; operating the pipeline (the overview page and its
buttons, the reprocess actions, the RQ dashboard) needs ``enrichment.operate``, which the
"Pipeline operators" group carries (migration 0004) and every superuser has.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied

OPERATE = "enrichment.operate"
OPERATORS_GROUP = "Pipeline operators"


def can_operate(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm(OPERATE)


def operate_required(view):
    """403 for a staff account without ``enrichment.operate``.

    Anyone else passes to the view, whose own check still applies: the admin's login
    redirect for people who are not staff, django-rq's API token for its stats and
    metrics.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and user.is_staff and not can_operate(user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
