"use strict";
(function () {
  const log = document.getElementById("log");
  const quick = document.getElementById("quick");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");
  const fileInput = document.getElementById("evidence");
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const CASE_NO = /ODR-\d{8}-\d{4,}/gi;

  // Text nodes only (never innerHTML): case numbers become links to the case page.
  function appendLinked(div, text) {
    let last = 0;
    text.replace(CASE_NO, function (match, offset) {
      div.appendChild(document.createTextNode(text.slice(last, offset)));
      const a = document.createElement("a");
      a.href = "/cases/" + encodeURIComponent(match.toUpperCase());
      a.className = "case-link";
      a.textContent = match;
      div.appendChild(a);
      last = offset + match.length;
      return match;
    });
    div.appendChild(document.createTextNode(text.slice(last)));
  }

  function bubble(text, cls) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    if (/\bbot\b/.test(cls)) appendLinked(div, text); else div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function showButtons(buttons) {
    quick.innerHTML = "";
    (buttons || []).forEach(function (b) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.title;
      btn.addEventListener("click", function () { send(b.payload || b.title, b.title); });
      quick.appendChild(btn);
    });
  }

  async function send(text, shown) {
    if (!text) return;
    bubble(shown || text, "user");
    showButtons([]);
    sendButton.disabled = true;
    const typing = bubble("对方正在输入…", "bot typing");
    try {
      const resp = await fetch("/api/chat/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ text: text }),
      });
      const data = await resp.json();
      typing.remove();
      if (!resp.ok) {
        bubble(data.error || "发送失败，请重试。", "error");
        return;
      }
      let buttons = [];
      data.messages.forEach(function (m) {
        if (m.text) bubble(m.text, "bot");
        if (m.buttons && m.buttons.length) buttons = m.buttons;
      });
      showButtons(buttons);
    } catch (e) {
      typing.remove();
      bubble("网络异常，消息未送达，请重试。", "error");
    } finally {
      sendButton.disabled = false;
      input.focus();
    }
  }

  async function poll() {
    try {
      const resp = await fetch("/api/chat/notifications", { credentials: "same-origin" });
      if (resp.ok) {
        const data = await resp.json();
        data.messages.forEach(function (m) { bubble(m.text, "bot"); });
      }
    } catch (e) { /* offline: try again later */ }
  }

  async function upload(file) {
    if (!file) return;
    bubble("上传证据：" + file.name, "user");
    const typing = bubble("正在上传…", "bot typing");
    const body = new FormData();
    body.append("file", file);
    try {
      const resp = await fetch("/api/chat/evidence", {
        method: "POST",
        headers: { "X-CSRFToken": csrfMeta ? csrfMeta.content : "" },
        credentials: "same-origin",
        body: body,
      });
      let data = {};
      try { data = await resp.json(); } catch (e) { /* e.g. a proxy's HTML error page */ }
      typing.remove();
      if (!resp.ok) {
        bubble(data.error || (resp.status === 413 ? "文件太大了。" : "上传失败，请重试。"), "error");
        return;
      }
      bubble(data.message, "bot");
    } catch (e) {
      typing.remove();
      bubble("网络异常，文件未上传，请重试。", "error");
    } finally {
      fileInput.value = "";
    }
  }

  if (fileInput) {
    fileInput.addEventListener("change", function () { upload(fileInput.files[0]); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const text = input.value.trim();
    input.value = "";
    send(text);
  });
  setInterval(poll, 5000);
})();
