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
