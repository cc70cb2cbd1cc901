"""Pagination that does not count a large table on every page view.

``COUNT(*)`` must read every row of the table (PostgreSQL keeps no row count), which
took most of the admin changelist's time at 100,000 notes. Up to ``EXACT_LIMIT`` rows
the count is exact (a bounded scan); beyond, PostgreSQL's own estimate is used: the
table's statistics for an unfiltered list, the query planner's row estimate (one more
statement) for a filtered one. The page links
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
        if db is None:  # a plain list
            return super().count
        # One statement whatever the table's size, so that a page's query count does not
        # change as the table grows: a count bounded at EXACT_LIMIT + 1 rows, and the
        # table's row estimate from its statistics.
        bounded = queryset.order_by().values("pk")[: EXACT_LIMIT + 1]
        sql, params = bounded.query.sql_with_params()
        with connections[db].cursor() as cursor:
            cursor.execute(
                f"SELECT (SELECT COUNT(*) FROM ({sql}) AS bounded), "  # noqa: S608
                "(SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass)",
                [*params, queryset.model._meta.db_table],
            )
            capped, table_estimate = cursor.fetchone()
        if capped <= EXACT_LIMIT:
            return capped
        if not queryset.query.where:
            # -1 means "never analysed"; never report fewer rows than were seen.
            return max(table_estimate or 0, capped)
        return max(_plan_estimate(queryset), capped)


def _plan_estimate(queryset) -> int:
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
