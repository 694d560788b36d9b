"""Dashboard error pages are the product's own, not Django's bare defaults."""


def test_unknown_dashboard_page_renders_the_styled_not_found_page(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Page not found" in body and "dashboard.css" in body and 'href="/"' in body
