"""Rendering in worker processes: what the parent prepares for them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, SEEDS

# Run in a fresh interpreter: the test process has imported everything long ago.
_FIRST_RENDER = """
import sys
from pathlib import Path
from feeds.config import load_config
from feeds.fanout import import_renderers, render_items
from feeds.loader import load_articles
from feeds.plan import plan_feeds
from feeds.site import feed_views

config = load_config(Path("config.toml")).with_paths(content=Path(sys.argv[1]), output=Path(sys.argv[2]))
views = feed_views(plan_feeds(load_articles(config).published, config), config)
import_renderers()
before = set(sys.modules)
paths = sorted(views)[:3]
written = list(render_items(views, paths, config, jobs=1))
assert written and all(data for _, data in written)
print(sorted(set(sys.modules) - before))
"""


def test_import_renderers_leaves_nothing_for_the_first_render_to_import(tmp_path: Path) -> None:
    """Workers are forked after import_renderers(): a module the first feed imports, each worker imports again."""
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_RENDER, str(SEEDS), str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_tasks_split_the_last_feed_when_the_feeds_do_not_come_out_even(tmp_path: Path) -> None:
    """One task per feed (its items prepared once for every format), but no worker left idle at the end."""
    from feeds.fanout import tasks
    from feeds.loader import load_articles
    from feeds.plan import plan_feeds
    from feeds.site import feed_views

    from .conftest import make_config

    config = make_config(SEEDS, tmp_path / "out")
    views = feed_views(plan_feeds(load_articles(config).published, config), config)
    one = [p for p in sorted(views) if p.startswith("all.")]
    two = one + [p for p in sorted(views) if p.startswith("category/finance.")]
    three = two + [p for p in sorted(views) if p.startswith("category/gu-shi.")]
    assert len(one) == 3  # rss, atom, json
    assert tasks(views, one) == [tuple(one)]
    assert tasks(views, one, spread=2) == [(p,) for p in one]
    assert tasks(views, two, spread=2) == [tuple(one), tuple(two[3:])]
    assert tasks(views, three, spread=2) == [tuple(one), tuple(two[3:]), *((p,) for p in three[6:])]
    assert tasks(views, three, spread=3) == [tuple(one), tuple(two[3:]), tuple(three[6:])]
    assert sorted(p for task in tasks(views, sorted(views), spread=2) for p in task) == sorted(views)
