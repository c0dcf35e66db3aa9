from ingest.identity import canonical_url, document_id, domain_of


def test_tracking_parameters_fragment_and_default_port_do_not_change_identity():
    clean = "https://news.example/news/a.html?id=3"
    noisy = "HTTPS://News.Example:443/news/a.html?utm_source=rss&id=3&fbclid=abc#comments"
    assert canonical_url(noisy) == clean
    assert document_id(noisy) == document_id(clean)


def test_different_articles_get_different_ids():
    assert document_id("https://news.example/a") != document_id("https://news.example/b")


def test_document_id_is_a_128_bit_hex_string():
    doc_id = document_id("https://news.example/a")
    assert len(doc_id) == 32 and int(doc_id, 16) >= 0


def test_domain_drops_www():
    assert domain_of("https://www.news.example/a") == "news.example"
