"""The web pages' safety rules, against the running application (`warmline web` in its own process, real uvicorn):
a wrong or revoked link answers 403 and writes nothing; an upload over the limit is answered 413 before its body
is kept; only spreadsheets are taken; the clerk's file name is shown, escaped, and never used as a path; every form
needs its CSRF value; uploads per link are rate-limited; a session expires; a clerk never reaches another unit's
upload; no token or session ever appears in a page or a log."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import clean_env, start_web
from tests.test_cli import WARMLINE, warmline

LINK = re.compile(r"^(http://\S+/u/(\S+))$", re.M)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
WORKBOOK = b"PK\x03\x04" + b"\0" * 200  # what lands is not read here: the service reads it
PASSWORD = "a long statistician's passphrase"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A home with a link for each of seven units, and `warmline web` serving it on a free port; stopped after."""
    home = tmp_path_factory.mktemp("web") / "home"
    home.mkdir()
    assert warmline(home, "init").returncode == 0
    links = {}
    # a unit (a link) per concern, so that one test's uploads never count against another's rate limit
    for unit in ("浈江区", "武江区", "曲江区", "始兴县", "仁化县", "乐昌市", "南雄市"):
        made = warmline(home, "web", "token", "add", unit)
        assert made.returncode == 0, made.stderr
        links[unit] = LINK.search(made.stdout).group(1)
    password = subprocess.run([WARMLINE, "web", "password", "--stdin"], input=PASSWORD + "\n", text=True,
                              env=clean_env(WARMLINE_HOME=str(home)), capture_output=True, timeout=60)
    assert password.returncode == 0, password.stderr
    server, base = start_web(clean_env(WARMLINE_HOME=str(home)))
    links = {unit: link.replace("http://127.0.0.1:8150", base) for unit, link in links.items()}
    yield {"home": home, "base": base, "links": links, "server": server}
    os.killpg(server.pid, signal.SIGINT)
    server.wait(timeout=30)


def inbox(site) -> list[str]:
    return sorted(p.name for p in (site["home"] / "data" / "raw" / "inbox").iterdir())


def clerk(site, unit: str) -> tuple[httpx.Client, str]:
    """A browser-like client that opened the unit's link: its session cookie, and the CSRF value of its form."""
    client = httpx.Client(base_url=site["base"], follow_redirects=True, timeout=30)
    page = client.get(site["links"][unit])
    assert page.status_code == 200 and str(page.url).endswith("/unit")
    return client, CSRF.search(page.text).group(1)


def upload(client: httpx.Client, csrf: str | None, name: str, content: bytes = WORKBOOK) -> httpx.Response:
    data = {"csrf": csrf} if csrf is not None else {}
    return client.post("/unit/upload", data=data, files={"file": (name, content)})


def test_a_wrong_link_answers_403_and_opens_nothing(site):
    before = inbox(site)
    response = httpx.get(f"{site['base']}/u/{'x' * 43}")
    assert response.status_code == 403
    assert "链接无效或已停用" in response.text and "not valid or has been revoked" in response.text
    assert "set-cookie" not in response.headers
    assert httpx.get(f"{site['base']}/unit").status_code == 403  # no session, no page
    assert httpx.post(f"{site['base']}/unit/upload", files={"file": ("a.xlsx", WORKBOOK)}).status_code == 403
    assert inbox(site) == before


def test_an_upload_lands_in_the_inbox_under_its_own_name_and_the_page_escapes_the_clerks(site):
    client, csrf = clerk(site, "浈江区")
    before = set(inbox(site))
    name = "<img src=x onerror=alert(1)>统计表.xlsx"
    response = upload(client, csrf, name)
    assert response.status_code == 200 and "/unit/uploads/" in str(response.url)
    landed = sorted(set(inbox(site)) - before)
    assert len(landed) == 1 and re.fullmatch(r"440204_upload_[0-9a-f]{16}\.xlsx", landed[0])
    assert (site["home"] / "data" / "raw" / "inbox" / landed[0]).read_bytes() == WORKBOOK
    assert "&lt;img src=x onerror=alert(1)&gt;统计表.xlsx" in response.text
    assert "<img src=x" not in response.text
    assert "处理中" in response.text and '<meta http-equiv="refresh"' in response.text  # refreshes without JavaScript
    listing = client.get("/unit").text
    assert "&lt;img src=x" in listing and "<img src=x" not in listing


def test_a_path_like_file_name_is_only_a_display_name(site):
    client, csrf = clerk(site, "浈江区")
    before = set(inbox(site))
    response = upload(client, csrf, "../../../../tmp/evil/../报表.xlsx")
    assert response.status_code == 200
    landed = sorted(set(inbox(site)) - before)
    assert len(landed) == 1 and landed[0].startswith("440204_upload_")
    assert not Path("/tmp/evil").exists() and not (site["home"] / "报表.xlsx").exists()
    assert "<h1>报表.xlsx</h1>" in response.text  # shown as its last part, nothing more


def test_an_upload_over_the_limit_is_answered_413_before_its_body_is_kept(site):
    client, csrf = clerk(site, "始兴县")
    before = inbox(site)
    big = b"PK" + b"\0" * (20 * 2**20 + 100_000)
    declared = upload(client, csrf, "big.xlsx", big)  # Content-Length says it: refused before reading
    assert declared.status_code == 413 and "20 MB" in declared.text

    def chunks():  # no Content-Length: refused as soon as what arrived passes the limit
        yield f"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n".encode()
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.xlsx\"\r\n\r\n"
        for _ in range(25):
            yield b"\0" * 2**20
        yield b"\r\n--b--\r\n"

    streamed = client.post("/unit/upload", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413
    assert inbox(site) == before
    assert not list((site["home"] / "data" / "raw" / "inbox").glob(".*"))  # not even a temporary file


def test_only_spreadsheets_are_taken(site):
    client, csrf = clerk(site, "始兴县")
    before = inbox(site)
    for name in ("report.pdf", "macro.exe", "noext", "表.xlsx.sh"):
        response = upload(client, csrf, name)
        assert response.status_code == 415, name
        assert "只接受电子表格" in response.text
    assert inbox(site) == before


def test_every_form_needs_its_csrf_value(site):
    client, csrf = clerk(site, "乐昌市")
    before = inbox(site)
    assert upload(client, None, "a.xlsx").status_code == 403
    assert upload(client, "forged", "a.xlsx").status_code == 403
    other, other_csrf = clerk(site, "武江区")
    assert upload(client, other_csrf, "a.xlsx").status_code == 403  # another session's value does not do
    assert inbox(site) == before
    assert "表单已过期" in upload(client, "forged", "a.xlsx").text


def test_a_clerk_never_reaches_another_units_upload(site):
    client, csrf = clerk(site, "浈江区")
    mine = upload(client, csrf, "mine.xlsx")
    upload_path = httpx.URL(str(mine.url)).path
    other, _ = clerk(site, "武江区")
    assert other.get(upload_path).status_code == 404
    assert "mine.xlsx" not in other.get("/unit").text
    assert client.get(upload_path).status_code == 200


def test_uploads_through_one_link_are_rate_limited(site):
    client, csrf = clerk(site, "曲江区")
    codes = [upload(client, csrf, f"r{i}.xlsx").status_code for i in range(12)]
    assert codes[:10] == [200] * 10  # this link's first ten in the minute
    assert codes[10:] == [429, 429]
    refused = upload(client, csrf, "late.xlsx")
    assert int(refused.headers["retry-after"]) > 0 and "上传过于频繁" in refused.text
    fresh, fresh_csrf = clerk(site, "南雄市")
    assert upload(fresh, fresh_csrf, "other-unit.xlsx").status_code == 200  # per link, not for everyone


def test_an_expired_session_and_a_revoked_link_answer_403_and_write_nothing(site):
    client, csrf = clerk(site, "仁化县")
    with sqlite3.connect(site["home"] / "data" / "web" / "web.sqlite") as con:
        con.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00+00:00' WHERE token_id IN "
                    "(SELECT token_id FROM tokens WHERE unit_code = '440224')")
    before = inbox(site)
    assert client.get("/unit").status_code == 403
    assert upload(client, csrf, "late.xlsx").status_code == 403
    client, csrf = clerk(site, "仁化县")  # the link itself still works: a new session
    assert client.get("/unit").status_code == 200
    revoked = warmline(site["home"], "web", "token", "revoke", "仁化县")
    assert revoked.returncode == 0 and "440224" in revoked.stdout
    assert upload(client, csrf, "after.xlsx").status_code == 403  # its sessions ended with it
    assert httpx.get(site["links"]["仁化县"]).status_code == 403
    assert inbox(site) == before
    listed = warmline(site["home"], "web", "token", "list").stdout
    assert re.search(r"440224 .* \d{4}-\d\d-\d\dT", listed)  # the revocation is on record


def test_no_token_or_session_is_written_to_a_page_or_a_log(site):
    client, csrf = clerk(site, "武江区")
    pages = [client.get("/unit").text, upload(client, csrf, "x.xlsx").text]
    secrets_ = [link.rsplit("/", 1)[1] for link in site["links"].values()] + [client.cookies["warmline_session"]]
    log = (site["home"] / "data" / "logs" / "web.log").read_text()
    assert "GET /u/<token> 303" in log  # the link's requests are logged, without the token
    for secret in secrets_:
        assert all(secret not in page for page in pages)
        assert secret not in log
    stored = (site["home"] / "data" / "web" / "web.sqlite").read_bytes()
    assert all(secret.encode() not in stored for secret in secrets_)  # only hashes are kept


def test_every_answer_carries_the_security_headers(site):
    client, _ = clerk(site, "武江区")
    response = client.get("/unit")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = httpx.get(site["links"]["武江区"], follow_redirects=False).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def statistician(site) -> tuple[httpx.Client, str]:
    """A client logged in as the statistician, and its session's CSRF value."""
    client = httpx.Client(base_url=site["base"], follow_redirects=True, timeout=60)
    form = client.get("/login")
    page = client.post("/login", data={"csrf": CSRF.search(form.text).group(1), "password": PASSWORD})
    assert str(page.url).endswith("/day"), page.text[:300]
    return client, CSRF.search(page.text).group(1)


def test_the_statisticians_pages_need_a_login(site):
    anonymous = httpx.Client(base_url=site["base"], timeout=30)
    for path in ("/day", "/headers", "/files/x", "/docs/index.html", "/day/2023-12-20/bulletin/bulletin.docx"):
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    for path in ("/day/publish", "/headers/accept"):
        assert anonymous.post(path, data={"date": "2023-12-20", "force": "1", "reason": "x"}).status_code == 403
    clerk_client, _ = clerk(site, "武江区")  # a clerk's session is not the statistician's
    assert str(clerk_client.get("/day").url).endswith("/login")
    assert clerk_client.post("/day/publish", data={"date": "2023-12-20"}).status_code == 403


def test_logging_in_needs_the_password_and_the_forms_csrf_value(site):
    client = httpx.Client(base_url=site["base"], follow_redirects=True, timeout=60)
    form = client.get("/login")
    nonce = CSRF.search(form.text).group(1)
    assert client.post("/login", data={"password": PASSWORD}).status_code == 403  # no CSRF value
    assert client.post("/login", data={"csrf": "forged", "password": PASSWORD}).status_code == 403
    wrong = client.post("/login", data={"csrf": nonce, "password": "guess"})
    assert str(wrong.url).endswith("/login?failed=1") and "密码不正确" in wrong.text
    assert "warmline_session" not in client.cookies
    right = client.post("/login", data={"csrf": nonce, "password": PASSWORD})
    assert str(right.url).endswith("/day") and "warmline_session" in client.cookies


def test_the_statisticians_forms_need_their_csrf_value_and_a_forced_day_its_reason(site):
    client, csrf = statistician(site)
    assert client.post("/day/publish", data={"date": "2023-12-20"}).status_code == 403
    assert client.post("/day/publish", data={"date": "2023-12-20", "csrf": "forged"}).status_code == 403
    assert client.post("/headers/accept", data={"header": "x", "csrf": "forged"}).status_code == 403
    no_reason = client.post("/day/publish", data={"date": "2023-12-20", "csrf": csrf, "force": "1", "reason": " "})
    assert no_reason.status_code == 400 and "必须填写理由" in no_reason.text


def test_an_expired_statisticians_session_goes_back_to_the_login(site):
    client, _ = statistician(site)
    with sqlite3.connect(site["home"] / "data" / "web" / "web.sqlite") as con:
        con.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00+00:00' WHERE kind = 'statistician'")
    assert str(client.get("/day").url).endswith("/login")


def test_the_password_is_kept_only_as_a_hash_and_never_written_out(site):
    client, _ = statistician(site)
    pages = [client.get("/day").text, client.get("/headers").text]
    assert all(PASSWORD not in page for page in pages)
    assert PASSWORD not in (site["home"] / "data" / "logs" / "web.log").read_text()
    assert PASSWORD.encode() not in (site["home"] / "data" / "web" / "web.sqlite").read_bytes()
    with sqlite3.connect(site["home"] / "data" / "web" / "web.sqlite") as con:
        salt, digest = con.execute("SELECT salt, password_hash FROM login").fetchone()
    import hashlib

    assert digest == hashlib.scrypt(PASSWORD.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1, dklen=32).hex()


# Last in the file: the failed logins it makes keep this address from logging in for a minute.
def test_login_attempts_are_rate_limited(site):
    client = httpx.Client(base_url=site["base"], follow_redirects=True, timeout=60)
    nonce = CSRF.search(client.get("/login").text).group(1)
    codes = [client.post("/login", data={"csrf": nonce, "password": f"guess {i}"}).status_code for i in range(12)]
    assert 429 in codes and codes.index(429) <= 10
    refused = client.post("/login", data={"csrf": nonce, "password": PASSWORD})  # even the right one, for now
    assert refused.status_code == 429 and "登录失败次数过多" in refused.text
