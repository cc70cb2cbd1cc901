"""The benchmark suite: ``python manage.py bench`` (or ``make bench``).

It measures notesite against the physical limit of its design, raw RQ on the same worker
class, Redis and machine, in a database and a Redis db of its own. See docs/performance.md.
"""
