import pandas as pd
import pytest

from transforms.endpoints import normalise_endpoints


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/api/v1/orders", "/api/v1/orders"),
        ("/api/v1/orders/", "/api/v1/orders"),
        ("/api/v1/orders?page=2", "/api/v1/orders"),
        ("/api/v1/orders/12345", "/api/v1/orders/{id}"),
        ("/api/v1/orders/12345/items/9", "/api/v1/orders/{id}/items/{id}"),
        ("/u/3f2504e0-4f89-41d3-9a0c-0305e82c3301/x", "/u/{id}/x"),
        ("/blob/0123456789abcdef0123", "/blob/{id}"),
        ("/t/AbCdEfGhIjKlMnOpQrStUvWxYz_12", "/t/{id}"),
        ("/api/v2/users", "/api/v2/users"),
        ("/", "/"),
        # an id with a short prefix (a classic ELB's `V+<uuid>`, `id-<hex>`)
        ("/list/V+c150ff18-8b5c-4b8a-9c1e-0f5d7e6a2b3c", "/list/{id}"),
        ("/obj/id-0123456789abcdef01", "/obj/{id}"),
        ("/s/eyJhbGciOiJIUzI1NiJ9", "/s/{id}"),  # a base64 token
        # words are never ids, however long: slugs, page names, years and versions in them
        ("/blog/tags/boredom-induced-research", "/blog/tags/boredom-induced-research"),
        ("/docs/Getting-Started-With-Logcast", "/docs/Getting-Started-With-Logcast"),
        ("/wiki/Main_Page", "/wiki/Main_Page"),
        ("/reviews/iphone-15-pro-max-review-2024", "/reviews/iphone-15-pro-max-review-2024"),
        ("/static/app.3f9a8b7c.js", "/static/app.3f9a8b7c.js"),
    ],
)
def test_normalise_endpoints(path, endpoint):
    assert normalise_endpoints(pd.Series([path], dtype="str")).iloc[0] == endpoint


def test_full_urls_keep_only_their_path():
    paths = pd.Series(
        ["https://api.example.com:443/v1/users/12?x=1", "http://host", None], dtype="str"
    )
    assert normalise_endpoints(paths).tolist()[:2] == ["/v1/users/{id}", "/"]
    assert pd.isna(normalise_endpoints(paths).iloc[2])
