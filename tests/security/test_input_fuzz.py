"""Fuzzing of the two endpoints that read what strangers send, with hypothesis and a time bound per
request (200 ms):

- the WeChat endpoint (`/wechat`): correctly signed pushes whose body is garbage bytes, arbitrary
  text, WeChat-like XML with fuzzed fields (nested, repeated, unescaped, CDATA-breaking, huge
  values, malformed numbers), and DTD / entity attacks in many spellings; in plaintext mode and
  encrypted (safe mode, with wechatpy's own crypto). No 500, no entity is expanded (a DTD is
  refused before parsing), a refusal is a Chinese plain-text answer, a reply is well-formed XML.
- the web chat's JSON endpoint (`/api/chat/messages`), with the Rasa backend faked as in the web
  tests: arbitrary JSON, bodies that are not JSON or not UTF-8, wrong content types, texts of any
  characters and length. No 500, a Chinese JSON error for bad input, and what reaches the bot is
  never an `/intent{…}`.

A request over the limit is sent twice more and only the fastest run counts (a request that is
slow every time is the finding; one that was descheduled once is not). `FUZZ` collects, per
endpoint, the number of requests timed and the slowest input; the last test prints them.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from collections import Counter
from typing import Any
from xml.sax.saxutils import escape

import pytest
import xmltodict
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.web.conftest import AES_KEY, APP_ID, JPEG, OPENID, PDF, PNG, TOKEN, WEBP, FakeRasa, sign, text_xml

LIMIT_MS = 200.0
CJK = re.compile(r"[\u4e00-\u9fff]")
DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
MAX_BODY = 64 * 1024  # web.wechat.MAX_BODY_BYTES
FUZZ: dict[str, dict[str, Any]] = {kind: {"requests": 0, "slowest_ms": 0.0, "slowest": "", "statuses": Counter()}
                                   for kind in ("wechat", "wechat_aes", "chat", "chat_evidence")}
FUZZ_SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
MANY = "100000 per minute"


def timed(kind: str, describe: str, send) -> Any:
    """Call send() (a fresh request each time) and assert that it answers within the limit."""
    best, resp = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        resp = send()
        best = min(best, (time.perf_counter() - start) * 1000)
        if best <= LIMIT_MS:
            break
    figures = FUZZ[kind]
    figures["requests"] += 1
    figures["statuses"][resp.status_code] += 1
    if best > figures["slowest_ms"]:
        figures.update(slowest_ms=best, slowest=describe)
    assert best <= LIMIT_MS, f"{kind}: {best:.0f} ms for {describe}"
    return resp


def describe(data: bytes | str) -> str:
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return f"{raw[:50]!r}… ({len(raw)} bytes)"


# ---------------------------------------------------------------- WeChat


@pytest.fixture
def wx(app, clock):
    """The app as a WeChat Official Account in plaintext mode, Rasa faked, limits out of the way."""
    app.config.update(CLOCK=clock, WECHAT_TOKEN=TOKEN, WECHAT_APP_ID=APP_ID, WECHAT_ENCODING_AES_KEY="",
                      WECHAT_PASSIVE_TIMEOUT=2.0, WECHAT_PUSH_DELAY=0, WECHAT_MESSAGE_LIMIT=MANY)
    app.extensions["rasa_client"] = FakeRasa()
    client = app.test_client()
    post_wechat(client, text_xml("预热"))  # imports, templates, the first connection: not timed
    return app


def signed_query(**extra: str) -> str:
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
    params = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


def post_wechat(client, body: bytes | str, content_type: str = "text/xml"):
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    return client.post(f"/wechat?{signed_query()}", data=data, content_type=content_type)


def post_wechat_aes(client, plain: str | None, encrypt: str | None = None):
    """Safe mode: `plain` encrypted as WeChat does, or `encrypt` as the envelope's Encrypt field
    (garbage), correctly signed either way."""
    import hashlib

    from wechatpy.crypto import WeChatCrypto

    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
    if plain is not None:
        envelope = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(plain, nonce, ts)
        encrypt = xmltodict.parse(envelope)["xml"]["Encrypt"]
    msg_signature = hashlib.sha1("".join(sorted([TOKEN, ts, nonce, encrypt or ""])).encode()).hexdigest()
    body = f"<xml><ToUserName><![CDATA[gh_odr]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    query = (f"signature={sign(TOKEN, ts, nonce)}&timestamp={ts}&nonce={nonce}&encrypt_type=aes"
             f"&msg_signature={msg_signature}")
    return client.post(f"/wechat?{query}", data=body.encode(), content_type="text/xml"), (ts, nonce)


FIELDS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "MediaId", "PicUrl", "Event",
          "EventKey", "Encrypt"]
MSG_TYPES = ["text", "image", "event", "voice", "video", "location", "link", "shortvideo", "TEXT", "", "device_text",
             "device_event"]
values = st.one_of(
    st.text(max_size=200),
    st.integers().map(str),
    st.sampled_from(["", " ", "9" * 5000, "-1", "1e9", "0x10", "NaN", "]]>", "<![CDATA[", "&amp;&lt;&#x4e2d;&#0;",
                     "&bogus;", "&#xD800;", "subscribe", "qrscene_123", "scanbarcode|x", OPENID, "/restart",
                     '/inform{"platform":"淘宝"}']),
    st.integers(1000, 60_000).map(lambda n: "投" * n),
)
STYLES = ["cdata", "escaped", "raw", "nested", "repeated", "attribute", "empty"]


def element(name: str, value: str, style: str) -> str:
    if style == "cdata":
        return f"<{name}><![CDATA[{value}]]></{name}>"
    if style == "escaped":
        return f"<{name}>{escape(value)}</{name}>"
    if style == "raw":
        return f"<{name}>{value}</{name}>"
    if style == "nested":
        return f"<{name}><inner>{escape(value)}</inner><more a='1'/></{name}>"
    if style == "repeated":
        return f"<{name}>{escape(value)}</{name}><{name}>{escape(value)}</{name}>"
    if style == "attribute":
        return f'<{name} x="{escape(value, {chr(34): "&quot;"})}">{escape(value)}</{name}>'
    return f"<{name}/>"


@st.composite
def wechat_xml(draw) -> str:
    """A valid text message of a valid sender with some fields replaced, added or dropped."""
    fields: dict[str, str] = {"ToUserName": element("ToUserName", "gh_odr", "cdata"),
                              "FromUserName": element("FromUserName", OPENID, "cdata"),
                              "CreateTime": element("CreateTime", str(int(time.time())), "escaped"),
                              "MsgType": element("MsgType", draw(st.sampled_from(MSG_TYPES)), "cdata"),
                              "Content": element("Content", "你好", "cdata"),
                              "MsgId": element("MsgId", str(draw(st.integers(1, 2**62))), "escaped")}
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(FIELDS) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True))
        fields[name] = element(name, draw(values), draw(st.sampled_from(STYLES)))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=2)):
        fields.pop(name, None)
    if not draw(st.integers(0, 3)):  # now and then a broken frame around the fields
        head = draw(st.sampled_from(["", '<?xml version="1.0" encoding="utf-8"?>', "\ufeff", "<!-- c -->",
                                     '<?xml version="1.0" encoding="gbk"?>', "<?pi x?>"]))
        root_open, root_close = draw(st.sampled_from([("<xml>", ""), ("<XML>", "</XML>"), ("<other>", "</other>"),
                                                      ("<xml><xml>", "</xml></xml>")]))
        return head + root_open + "".join(fields.values()) + root_close
    return "<xml>" + "".join(fields.values()) + "</xml>"


# DTD and entity attacks: external entities, billion laughs, parameter entities, external DTDs, in
# spellings a naive check could miss.
DTD_KEYWORDS = ["DOCTYPE", "doctype", "DocType", "ENTITY", "entity", "ELEMENT", "ATTLIST"]
attacks = st.builds(
    lambda keyword, space, payload, where: where.format(dtd=f"<!{space}{keyword} {payload}"),
    st.sampled_from(DTD_KEYWORDS),
    st.sampled_from(["", " ", "\n", "\t", "  \r\n"]),
    st.sampled_from([
        'xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        'lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>',
        'xml [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/x.dtd"> %ext;]>',
        'xml SYSTEM "http://127.0.0.1:9/evil.dtd">',
        "xml PUBLIC '-//X//Y' 'file:///dev/random'>",
        "x >",
    ]),
    st.sampled_from([
        "{dtd}<xml><FromUserName>" + OPENID + "</FromUserName><MsgType>text</MsgType><Content>&xxe;&lol3;</Content>"
        "<MsgId>1</MsgId></xml>",
        '<?xml version="1.0"?>{dtd}<xml><Content>&lol3;</Content></xml>',
        "\ufeff{dtd}<xml/>",
        "<xml><FromUserName>" + OPENID + "</FromUserName>{dtd}</xml>",
        "<!-- {dtd} --><xml/>",
    ]),
)


def check_wechat(resp, body: str | bytes, rasa: FakeRasa, calls_before: int) -> None:
    assert resp.status_code in (200, 400, 403, 413, 415), (resp.status_code, resp.data[:300])
    text = resp.get_data(as_text=True)
    for expanded in ("lollol", "root:x:0"):
        assert expanded not in text
    for _sender, said in rasa.calls[calls_before:]:
        assert "lollol" not in said and "root:x:0" not in said
    raw = body if isinstance(body, str) else body.decode("utf-8", "replace")
    if DTD.search(raw):
        assert resp.status_code == 400 and len(rasa.calls) == calls_before, "a DTD got past the check"
    if resp.status_code >= 400:
        assert resp.mimetype == "text/plain" and CJK.search(text), text[:300]
    elif text != "success":
        reply = xmltodict.parse(resp.data)["xml"]
        assert reply["MsgType"] == "text" and reply["Content"], reply


def wechat_case(app, body: str | bytes, content_type: str = "text/xml") -> None:
    client, rasa = app.test_client(), app.extensions["rasa_client"]
    calls = len(rasa.calls)
    resp = timed("wechat", describe(body), lambda: post_wechat(client, body, content_type))
    check_wechat(resp, body, rasa, calls)


@FUZZ_SETTINGS
@given(body=st.binary(max_size=4000))
@example(body=b"\xff\xfe<\x00x\x00m\x00l\x00>\x00")  # UTF-16
@example(body=b"<xml>" + b"\x80" * 100 + b"</xml>")
def test_wechat_garbage_bytes(wx, body: bytes) -> None:
    wechat_case(wx, body)


@FUZZ_SETTINGS
@given(body=st.text(max_size=4000))
def test_wechat_arbitrary_text(wx, body: str) -> None:
    wechat_case(wx, body)


@FUZZ_SETTINGS
@given(body=wechat_xml())
@example(body=text_xml("x" * 60_000))
@example(body=text_xml("x" * (MAX_BODY + 10)))
@example(body="<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>")
@example(body=f"<xml><FromUserName><a>{OPENID}</a></FromUserName><MsgType>text</MsgType><Content>hi</Content>"
              "<MsgId>77</MsgId></xml>")
@example(body=f"<xml><FromUserName>{OPENID}</FromUserName><MsgType>text</MsgType><Content><b>x</b></Content>"
              "<MsgId>78</MsgId></xml>")
@example(body=f"<xml><FromUserName>{OPENID}</FromUserName><MsgType>text</MsgType><Content>hi</Content>"
              "<MsgId>abc</MsgId></xml>")
@example(body=f"<xml><FromUserName>{OPENID}</FromUserName><MsgType>event</MsgType><Event>click</Event>"
              "<CreateTime>yesterday</CreateTime></xml>")
@example(body=f"<xml><FromUserName>{OPENID}</FromUserName><MsgType>image</MsgType><MediaId><m>1</m></MediaId>"
              "<MsgId>79</MsgId></xml>")
def test_wechat_fuzzed_messages(wx, body: str) -> None:
    wechat_case(wx, body)


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=attacks)
def test_wechat_dtd_and_entities_are_refused_unexpanded(wx, body: str) -> None:
    wechat_case(wx, body)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                     "multipart/form-data; boundary=x", "", "text/xml; charset=gbk",
                                     "application/xml", "application/soap+xml"]),
       body=wechat_xml())
def test_wechat_content_types(wx, content_type: str, body: str) -> None:
    wechat_case(wx, body, content_type)


@pytest.fixture
def wx_safe(wx):
    wx.config["WECHAT_ENCODING_AES_KEY"] = AES_KEY
    post_wechat_aes(wx.test_client(), text_xml("预热", msg_id=1))
    return wx


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(plain=st.one_of(wechat_xml(), wechat_xml(), attacks, st.text(min_size=1, max_size=2000)),
       garbage=st.one_of(st.none(), st.none(), st.text(max_size=300),
                         st.from_regex(r"[A-Za-z0-9+/]{4,400}={0,2}", fullmatch=True)))
def test_wechat_safe_mode(wx_safe, plain: str, garbage: str | None) -> None:
    """Encrypted pushes whose plaintext is fuzzed, or whose Encrypt field is garbage."""
    from tests.web.conftest import decrypt_reply

    client, rasa = wx_safe.test_client(), wx_safe.extensions["rasa_client"]
    calls = len(rasa.calls)
    sent = {}

    def send():
        resp, sent["ts_nonce"] = post_wechat_aes(client, None if garbage is not None else plain, garbage)
        return resp

    resp = timed("wechat_aes", describe(garbage if garbage is not None else plain), send)
    assert resp.status_code in (200, 400, 403, 413, 415), (resp.status_code, resp.data[:300])
    if garbage is None and DTD.search(plain):
        assert resp.status_code == 400 and len(rasa.calls) == calls
    text = resp.get_data(as_text=True)
    if resp.status_code >= 400:
        assert resp.mimetype == "text/plain" and CJK.search(text), text[:300]
    elif text != "success":
        reply = decrypt_reply(text, *sent["ts_nonce"])
        assert reply["Content"] and "lollol" not in reply["Content"]


# ---------------------------------------------------------------- web chat


@pytest.fixture
def chat(app, clock):
    app.config.update(CLOCK=clock, CHAT_MESSAGE_LIMIT_IP=MANY, CHAT_MESSAGE_LIMIT_SESSION=MANY,
                      CHAT_NEW_SESSION_LIMIT_IP=MANY)
    rasa = FakeRasa()
    rasa.reply = [{"text": "好的，请继续说。", "buttons": [{"title": "我要投诉", "payload": "/complain"}]}]
    app.extensions["rasa_client"] = rasa
    client = app.test_client()
    client.post("/api/chat/messages", json={"text": "预热"})
    return app


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
chat_texts = st.one_of(
    st.text(max_size=2100),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1990, max_size=2010),
    st.sampled_from(["/restart", '/inform{"platform":"淘宝"}', "  /stop  ", "/complain", "\u0000", "\u202e投诉",
                     "转人工", "返回机器人", "\r\n", "投" * 2000, "投" * 2001]),
)


def chat_request(client, kind: str, payload: Any):
    import json

    if kind == "json":
        return client.post("/api/chat/messages", data=json.dumps(payload), content_type="application/json")
    if kind == "text":
        return client.post("/api/chat/messages", data=json.dumps({"text": payload}), content_type="application/json")
    if kind == "raw":
        return client.post("/api/chat/messages", data=payload, content_type="application/json")
    if kind == "form":
        return client.post("/api/chat/messages", data={"text": payload})
    return client.post("/api/chat/messages", data=payload, content_type=kind)


def check_chat(app, kind: str, payload: Any) -> None:
    client, rasa = app.test_client(), app.extensions["rasa_client"]
    calls = len(rasa.calls)
    resp = timed("chat", f"{kind}: {describe(payload if isinstance(payload, bytes | str) else repr(payload))}",
                 lambda: chat_request(client, kind, payload))
    assert resp.status_code in (200, 400, 413, 415), (resp.status_code, resp.data[:300])
    body = resp.get_json()
    assert isinstance(body, dict), resp.data[:300]
    if resp.status_code >= 400:
        assert isinstance(body.get("error"), str) and CJK.search(body["error"]), body
        assert len(rasa.calls) == calls, "a refused message reached the bot"
    else:
        assert isinstance(body.get("messages"), list) and body["messages"], body
        for _sender, said in rasa.calls[calls:]:
            assert said == "/complain" or not said.strip().startswith("/"), f"sent to Rasa as an intent: {said!r}"


@FUZZ_SETTINGS
@given(payload=json_values)
@example(payload={"text": None})
@example(payload={"text": ["你好"]})
@example(payload=[{"text": "你好"}])
def test_chat_arbitrary_json(chat, payload: Any) -> None:
    check_chat(chat, "json", payload)


@FUZZ_SETTINGS
@given(text=chat_texts)
def test_chat_any_text(chat, text: str) -> None:
    check_chat(chat, "text", text)


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(str.encode)))
@example(body=b'{"text": "\\ud800"}')  # a lone surrogate, as JSON allows it
@example(body=b'{"text": "\\udfff\\ud800\\u0000"}')
@example(body=b'{"text": "\xff\xfe"}')
@example(body=b"[" * 5000 + b"]" * 5000)
@example(body=b'{"text": "' + b"1" * 5000 + b'", "text": 5}')
@example(body=b"x" * (1024 * 1024 + 1))  # over MAX_CONTENT_LENGTH
def test_chat_raw_bodies(chat, body: bytes) -> None:
    check_chat(chat, "raw", body)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(["form", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                             "application/json; charset=gbk", "application/xml", ""]),
       text=st.text(max_size=200))
def test_chat_other_content_types(chat, kind: str, text: str) -> None:
    check_chat(chat, kind, text if kind == "form" else text.encode())


# ---------------------------------------------------------------- the chat's evidence upload


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height (a decompression bomb when that is huge)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")


MAGIC = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"%PDF-1.4\n", b"GIF89a", b""]
file_bytes = st.one_of(
    st.builds(lambda real, tail: real + tail, st.sampled_from([PNG, JPEG, WEBP, PDF]), st.binary(max_size=50)),
    st.builds(lambda magic, rest: magic + rest, st.sampled_from(MAGIC), st.binary(max_size=3000)),
    st.builds(_png_header, st.sampled_from([1, 8, 65535, 2**31 - 1]), st.sampled_from([1, 8, 65535, 2**31 - 1])),
    st.just(b""),
)
filenames = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["../../etc/passwd.png", "..\\..\\x.png", "/abs/path.jpg", "a\x00b.png", "x.png\r\nX: y",
                     "证据.PNG", ".png", "x.pdf.exe", "%2e%2e%2fx.png", "\u202egnp.exe", "CON.png", "x" * 5000 + ".png"]),
)


@pytest.fixture
def uploader(chat, factory_of, cases_of):
    """A consumer with a case of their own (so that uploads get past the ownership check)."""
    chat.config.update(EVIDENCE_UPLOAD_LIMIT_IP=MANY, EVIDENCE_UPLOAD_LIMIT_SESSION=MANY, EVIDENCE_MAX_FILES=100_000,
                       EVIDENCE_DAILY_FILES=100_000, EVIDENCE_MAX_CASE_BYTES=10**12, EVIDENCE_DAILY_BYTES=10**12)
    sender = "web-fuzz-uploader-0001"
    case_no = cases_of(chat).submit(sender=sender)
    client = chat.test_client()
    with client.session_transaction() as s:
        s["sender_id"] = sender
    from tests.web.conftest import csrf_from

    token = csrf_from(client, "/desk/login")
    warm = client.post("/api/chat/evidence", data={"file": (io.BytesIO(PNG), "预热.png")}, headers={"X-CSRFToken": token})
    assert warm.status_code == 201, warm.data  # Pillow's plugins loaded before anything is timed
    return client, case_no, token


@pytest.fixture
def factory_of():
    from disputes.db import session_factory

    return lambda app: session_factory(app.config["DATABASE_URL"])


@pytest.fixture
def cases_of(factory_of, clock):
    from tests.web.conftest import Cases

    return lambda app: Cases(factory_of(app), clock)


@settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=file_bytes, name=filenames, case=st.one_of(st.none(), st.text(max_size=40),
                                                        st.sampled_from(["ODR-20260504-0001", "odr-20260504-0001"])),
       description=st.one_of(st.none(), st.text(max_size=300), st.just("说" * 10_000)), token=st.integers(0, 4).map(bool))
@example(data=_png_header(65535, 65535), name="bomb.png", case=None, description=None, token=True)
def test_chat_evidence_upload(uploader, chat, data: bytes, name: str, case: str | None, description: str | None,
                              token: bool) -> None:
    """The chat's upload (multipart, as the chat page posts it): any bytes under any name, to the
    consumer's case or to a made-up one. No 500, a Chinese JSON error, and files only ever land
    inside the upload folder under a random name."""
    from pathlib import Path

    client, case_no, csrf = uploader
    form: dict[str, Any] = {"file": (io.BytesIO(data), name)}
    if case is not None:
        form["case_no"] = case
    if description is not None:
        form["description"] = description
    headers = {"X-CSRFToken": csrf} if token else {}

    def send():
        form["file"] = (io.BytesIO(data), name)
        return client.post("/api/chat/evidence", data=form, headers=headers, content_type="multipart/form-data")

    resp = timed("chat_evidence", f"{describe(data)} as {name[:30]!r}", send)
    assert resp.status_code in (201, 400, 404, 409, 413, 415), (resp.status_code, resp.data[:300])
    body = resp.get_json()
    if resp.status_code >= 400:
        assert isinstance(body.get("error"), str) and CJK.search(body["error"]), body
    else:
        assert body["case_no"] == case_no and body["evidence_id"]
    root = Path(chat.config["UPLOAD_DIR"]).resolve()
    for path in root.rglob("*"):
        assert path.resolve().is_relative_to(root)
        assert path.is_dir() or re.fullmatch(r"[0-9a-f]{32}\.(jpg|png|webp|pdf)", path.name), path


def test_report_fuzz_figures(record_property) -> None:
    """Last in the file: requests timed and the slowest input per endpoint (see `-rA` / junit)."""
    for kind, figures in FUZZ.items():
        record_property(f"{kind}_requests", figures["requests"])
        record_property(f"{kind}_slowest_ms", round(figures["slowest_ms"], 1))
        statuses = ", ".join(f"{status} ×{n}" for status, n in sorted(figures["statuses"].items()))
        print(f"{kind}: {figures['requests']} requests timed ({statuses}), slowest {figures['slowest_ms']:.1f} ms: "
              f"{figures['slowest']}")
