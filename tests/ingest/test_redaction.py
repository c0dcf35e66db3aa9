from ingest.redaction import redact_url, split_userinfo, without_userinfo


def test_a_password_in_a_url_is_masked_and_the_user_kept():
    assert redact_url("https://elastic:p%40ss@es.example:9200/path?q=1") == "https://elastic:***@es.example:9200/path?q=1"
    assert redact_url("https://token@es.example") == "https://token@es.example"
    assert redact_url("http://127.0.0.1:9200") == "http://127.0.0.1:9200"


def test_credentials_come_out_of_a_url_decoded():
    assert split_userinfo("https://elastic:p%40ss@es.example:9200/") == ("https://es.example:9200/", "elastic", "p@ss")
    assert split_userinfo("http://es:9200") == ("http://es:9200", None, None)
    assert without_userinfo("https://a:b@[::1]:9200") == "https://[::1]:9200"
