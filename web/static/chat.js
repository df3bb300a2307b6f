"use strict";
(function () {
  const log = document.getElementById("log");
  const quick = document.getElementById("quick");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");

  function bubble(text, cls) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    div.textContent = text;
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

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const text = input.value.trim();
    input.value = "";
    send(text);
  });
  setInterval(poll, 5000);
})();
