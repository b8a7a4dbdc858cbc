def test_probe(client, login, make_candidate, session):
    login("consultant")
    r = client.get("/candidates")
    assert "Zed" not in r.get_data(as_text=True)
    make_candidate("Zed", "Probe")
    r = client.get("/candidates")
    assert "Zed Probe" in r.get_data(as_text=True)
