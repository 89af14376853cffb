"""API Gateway REST route matching (apicanary.engine.gateway.routes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apicanary.engine.gateway.routes import (
    Route,
    RouteMatch,
    RouteTable,
    compile_routes,
    default_resource_id,
)
from apicanary.errors import BadInputError


def table(*specs: tuple[str, str]) -> RouteTable[str]:
    """Integration = "METHOD resource" so assertions read naturally."""
    return compile_routes(Route(res, m, f"{m} {res}") for res, m in specs)


def hit(t: RouteTable[str], method: str, path: str) -> RouteMatch[str]:
    m = t.match(method, path)
    assert m is not None, f"{method} {path} did not match"
    return m


# --- literal / param / greedy precedence ---------------------------------------------------


def test_root_resource() -> None:
    t = table(("/", "GET"))
    m = hit(t, "GET", "/")
    assert (m.resource, m.method, dict(m.path_parameters), m.integration) == (
        "/",
        "GET",
        {},
        "GET /",
    )
    assert hit(t, "GET", "").resource == "/"
    assert t.match("GET", "/x") is None


def test_literal_beats_param_beats_greedy() -> None:
    t = table(("/orders/new", "GET"), ("/orders/{id}", "GET"), ("/{proxy+}", "GET"))
    assert hit(t, "GET", "/orders/new").resource == "/orders/new"
    m = hit(t, "GET", "/orders/42")
    assert m.resource == "/orders/{id}"
    assert m.path_parameters == {"id": "42"}
    m = hit(t, "GET", "/orders/42/lines")
    assert m.resource == "/{proxy+}"
    assert m.path_parameters == {"proxy": "orders/42/lines"}


def test_backtracks_from_dead_end_literal_to_param() -> None:
    t = table(("/a/b", "GET"), ("/{x}/c", "GET"))
    m = hit(t, "GET", "/a/c")
    assert m.resource == "/{x}/c"
    assert m.path_parameters == {"x": "a"}


def test_greedy_catches_what_the_literal_tree_does_not() -> None:
    t = table(("/users", "GET"), ("/{proxy+}", "ANY"))
    assert hit(t, "GET", "/users").resource == "/users"
    m = hit(t, "GET", "/users/123")
    assert m.resource == "/{proxy+}"
    assert m.path_parameters == {"proxy": "users/123"}


def test_parent_without_methods_does_not_shadow_proxy() -> None:
    t = table(("/orders/{id}", "GET"), ("/{proxy+}", "ANY"))
    m = hit(t, "GET", "/orders")
    assert m.resource == "/{proxy+}"
    assert m.path_parameters == {"proxy": "orders"}


def test_nested_greedy_under_literal() -> None:
    t = table(("/files/{path+}", "GET"))
    m = hit(t, "GET", "/files/a/b/c.txt")
    assert m.path_parameters == {"path": "a/b/c.txt"}
    assert t.match("GET", "/files") is None  # greedy needs at least one segment
    assert t.match("GET", "/files/") is None


def test_greedy_does_not_match_root() -> None:
    t = table(("/{proxy+}", "ANY"))
    assert t.match("GET", "/") is None
    assert hit(t, "GET", "/x").path_parameters == {"proxy": "x"}


def test_several_params() -> None:
    t = table(("/users/{userId}/orders/{orderId}", "GET"))
    m = hit(t, "GET", "/users/u1/orders/o9")
    assert m.path_parameters == {"userId": "u1", "orderId": "o9"}


def test_param_needs_a_non_empty_segment() -> None:
    t = table(("/orders/{id}", "GET"))
    assert t.match("GET", "/orders//") is None
    assert t.match("GET", "/orders") is None


# --- methods --------------------------------------------------------------------------------


def test_exact_method_beats_any() -> None:
    t = table(("/items", "ANY"), ("/items", "POST"))
    assert hit(t, "POST", "/items").integration == "POST /items"
    assert hit(t, "DELETE", "/items").integration == "ANY /items"
    assert hit(t, "DELETE", "/items").method == "ANY"


def test_resource_without_the_method_is_no_match_and_does_not_fall_back() -> None:
    # API Gateway answers 403 Missing Authentication Token; the less specific proxy is not tried.
    t = table(("/users", "POST"), ("/{proxy+}", "ANY"))
    assert t.match("GET", "/users") is None
    assert hit(t, "POST", "/users").resource == "/users"
    assert hit(t, "GET", "/users/1").resource == "/{proxy+}"


def test_head_is_not_get() -> None:
    t = table(("/items", "GET"))
    assert t.match("HEAD", "/items") is None


# --- trailing slashes and encoding ----------------------------------------------------------


def test_trailing_slash_is_ignored() -> None:
    t = table(("/orders", "GET"), ("/orders/{id}", "GET"), ("/{proxy+}", "ANY"))
    assert hit(t, "GET", "/orders/").resource == "/orders"
    assert hit(t, "GET", "/orders/42/").path_parameters == {"id": "42"}
    # AWS-recorded: /test-path/ gives proxy = "test-path"
    assert hit(t, "GET", "/test-path/").path_parameters == {"proxy": "test-path"}


def test_path_parameters_are_not_url_decoded() -> None:
    # AWS-recorded (LocalStack aws.validated snapshot): REST passes the raw encoding through.
    t = table(("/{proxy+}", "ANY"), ("/items/{id}", "GET"))
    raw = "/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com"
    assert hit(t, "GET", raw).path_parameters == {"proxy": raw[1:]}
    assert hit(t, "GET", "/items/a%20b").path_parameters == {"id": "a%20b"}
    assert hit(t, "GET", "/items/a%2Fb").path_parameters == {"id": "a%2Fb"}


# --- compile-time validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "method"),
    [
        ("orders", "GET"),
        ("/a//b", "GET"),
        ("/{proxy+}/x", "GET"),
        ("/{}", "GET"),
        ("/{a b}", "GET"),
        ("/x{id}", "GET"),
        ("/items", "FETCH"),
        ("/items", "get"),
    ],
)
def test_invalid_routes_are_rejected(resource: str, method: str) -> None:
    with pytest.raises(BadInputError):
        table((resource, method))


def test_duplicate_method_is_rejected() -> None:
    with pytest.raises(BadInputError, match="declared twice"):
        table(("/items", "GET"), ("/items/", "GET"))


def test_two_variable_names_at_one_level_are_rejected() -> None:
    with pytest.raises(BadInputError, match="only one is allowed"):
        table(("/{id}", "GET"), ("/{name}/x", "GET"))


def test_resource_ids() -> None:
    t = compile_routes([Route("/a", "GET", 1, "abc123"), Route("/a", "POST", 2)])
    assert hit_any(t, "POST", "/a").resource_id == "abc123"
    t2 = compile_routes([Route("/a", "GET", 1)])
    rid = hit_any(t2, "GET", "/a").resource_id
    assert rid == default_resource_id("/a")
    assert len(rid) == 10 and rid.isalnum() and rid.islower()
    with pytest.raises(BadInputError, match="two ids"):
        compile_routes([Route("/a", "GET", 1, "x1"), Route("/a", "POST", 2, "x2")])


def hit_any(t: RouteTable[int], method: str, path: str) -> RouteMatch[int]:
    m = t.match(method, path)
    assert m is not None
    return m


def test_table_is_immutable_and_keeps_routes() -> None:
    routes = [Route("/a", "GET", "x"), Route("/b", "ANY", "y")]
    t = compile_routes(routes)
    routes.append(Route("/c", "GET", "z"))
    assert len(t) == 2
    assert t.match("GET", "/c") is None
    assert [r.resource for r in t.routes] == ["/a", "/b"]


# --- properties -----------------------------------------------------------------------------

segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%", min_size=1, max_size=8)
method = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])


@given(prefix=st.lists(segment, max_size=3), last=segment, m=method)
def test_literal_route_always_beats_param_route(prefix: list[str], last: str, m: str) -> None:
    literal = "/" + "/".join([*prefix, last])
    param = "/" + "/".join([*prefix, "{v}"])
    t = table((param, "ANY"), (literal, "ANY"), ("/{proxy+}", "ANY"))
    assert hit(t, m, literal).resource == literal
    assert hit(t, m, literal + "/").resource == literal


@given(prefix=st.lists(segment, max_size=3), value=segment, m=method)
def test_param_route_always_beats_greedy(prefix: list[str], value: str, m: str) -> None:
    base = "/" + "/".join(["p", *prefix])
    t = table((base + "/{v}", "ANY"), ("/{proxy+}", "ANY"))
    got = hit(t, m, base + "/" + value)
    assert got.resource == base + "/{v}"
    assert got.path_parameters == {"v": value}


@given(segs=st.lists(segment, min_size=1, max_size=6), m=method)
def test_greedy_captures_the_whole_rest(segs: list[str], m: str) -> None:
    t = table(("/{proxy+}", "ANY"))
    path = "/" + "/".join(segs)
    assert hit(t, m, path).path_parameters == {"proxy": path[1:]}


@given(segs=st.lists(segment, max_size=5), m=method)
def test_exact_method_always_beats_any(segs: list[str], m: str) -> None:
    path = "/" + "/".join(segs)
    t = table((path, "ANY"), (path, m))
    assert hit(t, m, path).method == m


@given(path=st.text(max_size=40), m=st.text(max_size=8))
def test_match_never_raises(path: str, m: str) -> None:
    t = table(("/", "GET"), ("/a/{b}", "ANY"), ("/a/{b}/c/{d+}", "GET"), ("/{proxy+}", "POST"))
    t.match(m, path)
