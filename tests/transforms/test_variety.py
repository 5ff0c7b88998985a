"""Endpoint folding by variety (`fold_variety`, `fold_file_endpoints`): hand-made path lists,
and the property that files folded one after another, in any order and any split, end with the
endpoints of all their paths folded at once."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.canonical import EndpointRules
from transforms.endpoints import fold_file_endpoints, fold_variety
from transforms.reading import read_events

ROUTES = ["/api/v1/users", "/api/v1/orders", "/api/v1/orders/{id}", "/", "/about"]
TAGS = [f"/blog/tags/{t}" for t in ("kittens", "boredom-induced-research", "rust", "python")]


@pytest.mark.parametrize(
    ("paths", "limit", "expected"),
    [
        # few fixed children stay, however many routes
        (ROUTES, 3, {p: p for p in ROUTES}),
        # four tags under one parent, limit 3: the tags fold, the routes beside them stay
        (
            ROUTES + TAGS,
            3,
            {**{p: p for p in ROUTES}, **dict.fromkeys(TAGS, "/blog/tags/{var}")},
        ),
        # exactly the limit: no fold (more than N folds)
        (TAGS[:3], 3, {p: p for p in TAGS[:3]}),
        # folded subtrees merge and are judged together below: each user has its own few
        # children (posts, likes) which stay
        (
            ["/users/alice/posts", "/users/bob/posts", "/users/carol/likes", "/users/dan"],
            3,
            {
                "/users/alice/posts": "/users/{var}/posts",
                "/users/bob/posts": "/users/{var}/posts",
                "/users/carol/likes": "/users/{var}/likes",
                "/users/dan": "/users/{var}",
            },
        ),
        # a second level folds too once the merged values pass the limit
        (
            ["/u/a/x1", "/u/b/x2", "/u/c/x3", "/u/d/x4"],
            3,
            dict.fromkeys(["/u/a/x1", "/u/b/x2", "/u/c/x3", "/u/d/x4"], "/u/{var}/{var}"),
        ),
        # placeholders neither count nor fold: {id} keeps its name beside {var}
        (
            ["/users/{id}", "/users/a", "/users/b", "/users/c", "/users/d"],
            3,
            {
                "/users/{id}": "/users/{id}",
                **dict.fromkeys(["/users/a", "/users/b", "/users/c", "/users/d"], "/users/{var}"),
            },
        ),
        (["/users/{id}", "/users/{name}", "/users/a", "/users/b"], 2, None),  # identity
        # values are counted per parent: /a and /b have 3 each (4 together), limit 3
        (
            ["/a/x", "/a/y", "/a/z", "/b/x", "/b/y", "/b/w"],
            3,
            None,
        ),
        # the root folds like any parent; `/` and stand-ins that name no path stay
        (
            ["/", "/p1", "/p2", "/p3", "{invalid}", "*"],
            2,
            {
                "/": "/",
                "{invalid}": "{invalid}",
                "*": "*",
                **dict.fromkeys(["/p1", "/p2", "/p3"], "/{var}"),
            },
        ),
        # a parent that folded before folds every new value, however few
        (
            ["/blog/tags/{var}", "/blog/tags/new"],
            100,
            {"/blog/tags/{var}": "/blog/tags/{var}", "/blog/tags/new": "/blog/tags/{var}"},
        ),
        # 0 folds nothing
        (TAGS, 0, {p: p for p in TAGS}),
    ],
)
def test_fold_variety(paths, limit, expected):
    if expected is None:
        expected = {p: p for p in paths}
    assert fold_variety(paths, limit) == expected


def tree_fold(endpoints: list[str], limit: int) -> dict[str, str]:
    """The rule as written, path by path over groups of lists (the oracle of the vectorised
    `fold_variety`)."""
    distinct = sorted(set(endpoints))
    paths = {e: e.split("/") for e in distinct if e.startswith("/")}
    groups = [list(paths.values())]
    depth = 1
    while groups and limit > 0:
        deeper_groups = []
        for group in groups:
            deeper = [p for p in group if len(p) > depth]
            values = {p[depth] for p in deeper}
            literal = {v for v in values if v and not (v[0] == "{" and v[-1] == "}")}
            if "{var}" in values or len(literal) > limit:
                for p in deeper:
                    if p[depth] in literal:
                        p[depth] = "{var}"
            children = {}
            for p in deeper:
                children.setdefault(p[depth], []).append(p)
            deeper_groups += children.values()
        groups, depth = deeper_groups, depth + 1
    return {e: "/".join(paths[e]) if e in paths else e for e in distinct}


SEGMENTS = st.sampled_from(["a", "b", "c", "d", "e", "{id}", "{var}", "x-y", "users", ""])
ENDPOINTS = st.one_of(
    st.lists(SEGMENTS, min_size=1, max_size=5).map(lambda s: "/" + "/".join(s)),
    st.sampled_from(["/", "{invalid}", "*"]),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ENDPOINTS, max_size=60), st.integers(0, 4))
def test_fold_variety_is_the_rule_as_written(endpoints, limit):
    assert fold_variety(endpoints, limit) == tree_fold(endpoints, limit)


def test_a_file_is_judged_with_what_its_source_saw_before():
    first = fold_file_endpoints(TAGS[:3] + ROUTES, frozenset(), 3)
    assert first.endpoints == {p: p for p in TAGS[:3] + ROUTES} and not first.folded_parents
    # one more tag in the next file: the parent passes the limit over both files
    second = fold_file_endpoints([TAGS[3], "/about"], first.seen, 3)
    assert second.endpoints == {TAGS[3]: "/blog/tags/{var}", "/about": "/about"}
    assert second.folded_parents == ("/blog/tags",)
    assert second.refolded == frozenset(TAGS[:3])
    assert second.seen == frozenset(ROUTES) | {"/blog/tags/{var}"}
    # and stays folded: a third file with a single new tag folds it
    third = fold_file_endpoints(["/blog/tags/solo"], second.seen, 3)
    assert third.endpoints == {"/blog/tags/solo": "/blog/tags/{var}"}
    assert third.seen == second.seen and not third.folded_parents and not third.refolded


PATHS = st.lists(
    st.sampled_from(["a", "b", "c", "d", "e", "{id}", "x-y", "users"]), min_size=1, max_size=4
).map(lambda s: "/" + "/".join(s))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paths=st.lists(PATHS, min_size=1, max_size=40),
    files=st.integers(1, 6),
    limit=st.integers(1, 4),
    data=st.data(),
)
def test_files_in_any_order_end_with_the_endpoints_of_all_paths_at_once(paths, files, limit, data):
    """Paths spread over files, the files in any order, each folded with what came before:
    the source ends with the same templates as all paths folded at once; a row's endpoint
    is its path's final endpoint, or a more literal one that folds to it (its file came
    before a parent passed the limit); rows of files after that get the final one."""
    assignment = data.draw(
        st.lists(st.integers(0, files - 1), min_size=len(paths), max_size=len(paths))
    )
    order = data.draw(st.permutations(range(files)))
    at_once = fold_variety(paths, limit)

    seen: frozenset[str] = frozenset()
    row_endpoints: list[tuple[str, str]] = []
    for f in order:
        mine = [p for p, k in zip(paths, assignment, strict=True) if k == f]
        folding = fold_file_endpoints(mine, seen, limit)
        row_endpoints += [(p, folding.endpoints[p]) for p in mine]
        seen = folding.seen

    assert seen == frozenset(at_once.values())
    # judged with the final state, a row's endpoint and its path both give the final endpoint
    # (one fold for all rows: they bring no value the state lacks under an unfolded parent)
    again = fold_file_endpoints([e for pair in row_endpoints for e in pair], seen, limit)
    assert again.seen == seen
    for path, endpoint in row_endpoints:
        assert again.endpoints[endpoint] == again.endpoints[path] == at_once[path]


def test_a_rule_keeps_a_popular_value_out_of_the_fold():
    """Rules run before variety: a value a rule turns into a placeholder of its own stays."""
    lines = [
        f'1.2.3.4 - - [22/Nov/2026:05:30:00 +0000] "GET /blog/tags/{tag} HTTP/1.1" 200 5 "-" "-"'
        for tag in ["cats", "dogs", "birds", "fish", "index", "index"]
    ]
    rules = EndpointRules(rules=(("^/blog/tags/index$", "/blog/tags/{index}"),), fold_variety=3)
    read = read_events(
        ("\n".join(lines) + "\n").encode(),
        "combined",
        source="blog",
        as_of=pd.Timestamp("2026-11-23", tz="UTC"),
        rules=rules,
    )
    assert (
        read.events.column("endpoint").to_pylist()
        == ["/blog/tags/{var}"] * 4 + ["/blog/tags/{index}"] * 2
    )
