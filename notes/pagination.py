"""Pagination that does not count a large table on every page view.

``COUNT(*)`` must read every row of the table (PostgreSQL keeps no row count), which
took most of the admin changelist's time at 100,000 notes. Up to ``EXACT_LIMIT`` rows
the count is exact; beyond, PostgreSQL's own estimate is used: the table's statistics for
an unfiltered list, the query planner's row estimate for a filtered one. The page links
are then approximate, which a list of that size can afford; the rows shown are exact.
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_LIMIT = 10_000


class LargeTablePaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        db = getattr(queryset, "db", None)
        if db is None or connections[db].vendor != "postgresql":
            return super().count
        unfiltered = not queryset.query.where
        if unfiltered:
            # One catalogue read instead of a full scan; small tables still count exactly.
            estimate = _table_estimate(queryset)
            if estimate > EXACT_LIMIT:
                return estimate
            return super().count
        # Count at most EXACT_LIMIT + 1 rows: a bounded scan, whatever the table's size.
        capped = queryset.order_by()[: EXACT_LIMIT + 1].count()
        if capped <= EXACT_LIMIT:
            return capped
        return max(_plan_estimate(queryset), capped)


def _table_estimate(queryset) -> int:
    table = queryset.model._meta.db_table
    with connections[queryset.db].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    # -1 means "never analysed": fall back to an exact count.
    return int(row[0]) if row and row[0] and row[0] > 0 else 0


def _plan_estimate(queryset) -> int:
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
