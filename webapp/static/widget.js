/*! ragkit chat widget. Embed with:
 *  <script src="https://YOUR-RAGKIT-HOST/widget.js" data-widget-key="wk_..." async></script>
 * Talks to /api/v1/public/widgets/<key> on the script's own origin. Everything the server sends
 * is inserted as text (textContent / text nodes), never parsed as HTML.
 */
(() => {
  "use strict";
  const script =
    document.currentScript || document.querySelector("script[data-widget-key][src*='widget.js']");
  const key = script && script.getAttribute("data-widget-key");
  if (!key) {
    console.error("ragkit widget: the script tag needs a data-widget-key attribute");
    return;
  }
  const started = (window.__ragkitWidgets = window.__ragkitWidgets || {});
  if (started[key]) return;
  started[key] = true;

  const API = new URL(script.src, location.href).origin + "/api/v1/public/widgets/" + encodeURIComponent(key);
  const STORE = "ragkit-widget:" + key;
  const OPEN = "ragkit-widget-open:" + key;
  const FALLBACK_COLOUR = "#1a73e8";

  const CSS = `
:host{all:initial}
*{box-sizing:border-box;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
button,textarea,input{font:inherit;color:inherit}
:focus-visible{outline:3px solid #1b1b1f;outline-offset:2px;box-shadow:0 0 0 5px #fff}
.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border:0;border-radius:50%;background:var(--p);color:var(--on);box-shadow:0 4px 14px rgba(0,0,0,.3);cursor:pointer;display:grid;place-items:center}
.launcher svg{width:28px;height:28px;fill:currentColor}
.panel{position:fixed;right:20px;bottom:92px;z-index:2147483001;width:380px;height:min(620px,calc(100vh - 112px));display:flex;flex-direction:column;background:#fff;color:#1f2328;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);overflow:hidden;font-size:15px;line-height:1.45}
.panel[hidden],[hidden]{display:none}
.panel.refused{height:auto}.refused .log{display:none}.refused .notice{margin:14px}
header{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--p);color:var(--on)}
h2{flex:1;margin:0;font-size:17px;font-weight:650;overflow-wrap:anywhere}
header button{background:transparent;border:1px solid currentColor;border-radius:8px;padding:4px 10px;cursor:pointer;font-size:14px}
header .close{border-color:transparent;font-size:22px;line-height:1;padding:2px 8px}
.log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px}
.msg{max-width:88%;padding:9px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.user{align-self:flex-end;background:var(--p);color:var(--on);border-bottom-right-radius:4px}
.bot{align-self:flex-start;background:#f0f2f5;border-bottom-left-radius:4px}
.bot.abstained{background:#fff6e0;border:1px solid #d9a520}
.note{margin:8px 0 0;white-space:normal}
.cite{border:0;background:none;padding:0 1px;color:#0b57d0;text-decoration:underline;cursor:pointer;font-weight:600}
.sources{margin:8px 0 0;padding:0;list-style:none;white-space:normal;font-size:14px}
.sources li{margin-top:4px}
.source{border:1px solid #c4c9d0;background:#fff;border-radius:8px;padding:4px 8px;cursor:pointer;text-align:left;width:100%}
.source[aria-expanded=true]{border-color:#0b57d0}
.passage{margin:6px 0 2px;padding:8px 10px;background:#fff;border-left:4px solid var(--p);border-radius:4px;white-space:pre-wrap;font-size:14px;max-height:240px;overflow:auto}
mark{background:#ffe98a;color:inherit}
.passage p{margin:0 0 6px;font-weight:600;white-space:normal}
.feedback{display:flex;gap:6px;margin-top:8px;align-items:center;white-space:normal;font-size:13px}
.feedback button{border:1px solid #aab1bb;background:#fff;border-radius:8px;width:34px;height:30px;cursor:pointer;display:grid;place-items:center}
.feedback button[aria-pressed=true]{background:#1f2328;color:#fff;border-color:#1f2328}
.feedback svg{width:16px;height:16px;fill:currentColor}
.down svg{transform:rotate(180deg)}
.link{border:0;background:none;padding:0;color:#0b57d0;text-decoration:underline;cursor:pointer}
.typing::after{content:"…";font-weight:700}
.notice{margin:0 14px 8px;padding:8px 12px;border-radius:8px;background:#fdecea;color:#7a1c12;border:1px solid #e0a39b}
.ok{background:#e7f5ea;color:#14532d;border-color:#9cc9a8}
form{display:flex;flex-direction:column;gap:6px;padding:10px 14px 14px;border-top:1px solid #e2e5e9}
label{font-size:13px;font-weight:600;color:#3d434b}
textarea,input{width:100%;border:1px solid #8c939d;border-radius:8px;padding:8px 10px;font-size:16px;background:#fff;resize:none}
.row{display:flex;gap:8px;align-items:flex-end}
.row textarea{flex:1}
.send,.submit{border:0;border-radius:8px;padding:9px 16px;background:var(--p);color:var(--on);cursor:pointer;font-weight:600}
.send:disabled,.submit:disabled{opacity:.55;cursor:default}
.handoff h3{margin:0;font-size:16px}
.actions{display:flex;gap:8px;justify-content:flex-end}
.cancel{border:1px solid #8c939d;background:#fff;border-radius:8px;padding:8px 14px;cursor:pointer}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){.panel{inset:0;width:auto;height:auto;border-radius:0}.msg{max-width:94%}}
`;
  const ICON = {
    chat: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z",
    thumb:
      "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z",
  };

  // --- small DOM builder: attributes as strings, text only through text nodes ---
  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value == null || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) {
      if (child != null) node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function icon(path) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const shape = document.createElementNS("http://www.w3.org/2000/svg", "path");
    shape.setAttribute("d", path);
    svg.append(shape);
    return svg;
  }

  // --- the visitor's conversation, kept in localStorage per widget key ---
  const storage = {
    load() {
      try {
        const saved = JSON.parse(localStorage.getItem(STORE));
        if (saved && saved.id && saved.token && !(Date.parse(saved.expires) < Date.now())) return saved;
      } catch (ignored) {}
      return null;
    },
    save(value) {
      try {
        localStorage.setItem(STORE, JSON.stringify(value));
      } catch (ignored) {}
    },
    clear() {
      try {
        localStorage.removeItem(STORE);
      } catch (ignored) {}
    },
    wasOpen() {
      try {
        return sessionStorage.getItem(OPEN) === "1";
      } catch (ignored) {
        return false;
      }
    },
    rememberOpen(open) {
      try {
        sessionStorage.setItem(OPEN, open ? "1" : "0");
      } catch (ignored) {}
    },
  };

  // --- the public API ---
  async function call(path, { method = "GET", body, token, raw } = {}) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = "Bearer " + token;
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
      });
    } catch (cause) {
      const refused = await reachable();
      throw Object.assign(
        new Error("network"),
        refused ? { status: 403, code: "origin_not_allowed" } : { status: 0 },
      );
    }
    if (!response.ok) throw await failure(response);
    return raw ? response : response.json();
  }

  // A refused origin gets no CORS headers, so the browser hides the 403 and fetch fails as if
  // offline; when the server still answers an opaque request, it was the page's origin.
  async function reachable() {
    try {
      await fetch(API, { mode: "no-cors", credentials: "omit", cache: "no-store" });
      return true;
    } catch (offline) {
      return false;
    }
  }

  async function failure(response) {
    let body = {};
    try {
      body = await response.json();
    } catch (ignored) {}
    return Object.assign(new Error(body.message || response.statusText), {
      status: response.status,
      code: body.code,
      errors: body.errors,
      retryAfter: parseInt(response.headers.get("Retry-After"), 10),
    });
  }

  async function* events(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      let value, done;
      try {
        ({ value, done } = await reader.read());
      } catch (cause) {
        throw Object.assign(new Error("The answer was interrupted."), { status: 0 });
      }
      buffer += decoder.decode(value, { stream: !done });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (event) yield event;
      }
      if (done) return;
    }
  }

  function parseEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
  }

  function describe(error) {
    const seconds = error.retryAfter;
    if (error.status === 0) return "Can't reach the help service. Check your connection and try again.";
    if (error.status === 429)
      return seconds >= 0
        ? `Too many questions, try again in ${seconds} second${seconds === 1 ? "" : "s"}.`
        : "Too many questions, try again in a moment.";
    if (isRefusal(error)) return "This chat isn't available on this website.";
    if (error.status === 404 && error.code === "not_found" && !config) return "This chat isn't set up correctly.";
    if (error.status === 413) return error.message || "Your question is too long.";
    const fields = error.errors && error.errors.json;
    if (fields) return Object.values(fields).flat().join(" ") || error.message;
    return error.message || `Something went wrong (${error.status}).`;
  }

  function isRefusal(error) {
    return error.status === 403 && /^origin_/.test(error.code || "");
  }

  // --- state ---
  let config = null;
  let conversation = storage.load();
  let refused = false;
  let busy = false;
  let lastQuestion = "";
  let launcherLabel = "Open help chat";

  async function ensureConversation() {
    if (conversation) return conversation;
    const body = await call("/conversations", { method: "POST", body: {} });
    conversation = { id: body.conversation_id, token: body.token, expires: body.expires_at, ratings: {} };
    storage.save(conversation);
    return conversation;
  }

  function forget() {
    conversation = null;
    storage.clear();
  }

  // Asking and handoff start a new conversation once when the token expired or the conversation
  // is gone; reading passages and rating answers belong to the current one and never retry.
  async function withConversation(request, restart) {
    for (let attempt = 0; ; attempt++) {
      const current = await ensureConversation();
      try {
        return await request(current);
      } catch (error) {
        if (!restart || attempt || (error.status !== 401 && error.status !== 404)) throw error;
        forget();
      }
    }
  }

  const base = (current) => `/conversations/${encodeURIComponent(current.id)}`;

  // --- the interface, in a shadow root so the page's CSS does not reach it ---
  const host = el("div", { "data-ragkit-widget": key });
  const root = host.attachShadow({ mode: "open" });
  const launcher = el("button", {
    class: "launcher",
    type: "button",
    "aria-label": "Open help chat",
    "aria-expanded": "false",
    "aria-controls": "rk-panel",
    onclick: () => (panel.hidden ? open(true) : close()),
  });
  launcher.append(icon(ICON.chat));
  const title = el("h2", { id: "rk-title", text: "Help" });
  const handoffButton = el("button", {
    type: "button",
    text: "Talk to a person",
    onclick: () => showHandoff(lastQuestion),
  });
  const closeButton = el("button", {
    class: "close",
    type: "button",
    "aria-label": "Close chat",
    text: "×",
    onclick: () => close(),
  });
  const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  const notice = el("p", { class: "notice", role: "status", hidden: true });
  const question = el("textarea", {
    id: "rk-question",
    rows: 2,
    placeholder: "Type your question…",
    onkeydown: (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        askForm.requestSubmit();
      }
    },
  });
  const send = el("button", { class: "send", type: "submit", text: "Send" });
  const askForm = el("form", { "aria-label": "Ask a question", onsubmit: submitQuestion }, [
    el("label", { for: "rk-question", text: "Your question" }),
    el("div", { class: "row" }, [question, send]),
  ]);
  const email = el("input", { id: "rk-email", type: "email", required: true, autocomplete: "email" });
  const handoffMessage = el("textarea", { id: "rk-message", rows: 3, required: true, maxlength: 4000 });
  const handoffForm = el("form", { class: "handoff", hidden: true, "aria-labelledby": "rk-handoff", onsubmit: submitHandoff }, [
    el("h3", { id: "rk-handoff", text: "Talk to a person" }),
    el("p", { class: "note", text: "Leave your e-mail address and message; our team will reply by e-mail." }),
    el("label", { for: "rk-email", text: "Your e-mail address" }),
    email,
    el("label", { for: "rk-message", text: "Your message" }),
    handoffMessage,
    el("div", { class: "actions" }, [
      el("button", { class: "cancel", type: "button", text: "Cancel", onclick: hideHandoff }),
      el("button", { class: "submit", type: "submit", text: "Send to our team" }),
    ]),
  ]);
  const panel = el("section", { class: "panel", id: "rk-panel", role: "dialog", "aria-labelledby": "rk-title", hidden: true }, [
    el("header", {}, [title, handoffButton, closeButton]),
    log,
    notice,
    askForm,
    handoffForm,
  ]);
  // Full-screen on a phone, the panel is modal: Tab cycles inside it.
  const fullScreen = matchMedia("(max-width: 480px)");
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      close();
    } else if (event.key === "Tab" && fullScreen.matches) {
      const focusable = [...panel.querySelectorAll("button,textarea,input")].filter(
        (node) => !node.disabled && node.getClientRects().length,
      );
      const edge = focusable[event.shiftKey ? 0 : focusable.length - 1];
      if (root.activeElement === edge) {
        event.preventDefault();
        focusable[event.shiftKey ? focusable.length - 1 : 0].focus();
      }
    }
  });
  root.append(el("style", { text: CSS }), launcher, panel);
  setColour(FALLBACK_COLOUR);

  function setColour(colour) {
    const probe = el("i", { hidden: true });
    probe.style.color = colour;
    if (!probe.style.color) probe.style.color = colour = FALLBACK_COLOUR;
    root.append(probe);
    const [r, g, b] = (getComputedStyle(probe).color.match(/[\d.]+/g) || [0, 0, 0]).map((value) => {
      const channel = value / 255;
      return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
    });
    probe.remove();
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    // WCAG contrast ratios against #111 (luminance 0.0056) and white: the higher one wins.
    const dark = (luminance + 0.05) / 0.0556 > 1.05 / (luminance + 0.05);
    host.style.setProperty("--p", colour);
    host.style.setProperty("--on", dark ? "#111" : "#fff");
  }

  function showNotice(text, ok) {
    notice.textContent = text;
    notice.classList.toggle("ok", !!ok);
    notice.hidden = !text;
  }

  function open(focus) {
    panel.hidden = false;
    panel.setAttribute("aria-modal", String(fullScreen.matches));
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close help chat");
    storage.rememberOpen(true);
    log.scrollTop = log.scrollHeight;
    if (focus) (refused ? closeButton : handoffForm.hidden ? question : email).focus();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", launcherLabel);
    storage.rememberOpen(false);
    launcher.focus();
  }

  function refuse(error) {
    refused = true;
    const focused = root.activeElement;
    const hiding = [askForm, handoffForm, handoffButton].some((node) => node.contains(focused));
    question.disabled = send.disabled = true;
    askForm.hidden = handoffForm.hidden = handoffButton.hidden = true;
    panel.classList.add("refused");
    if (hiding) closeButton.focus(); // the panel was opened before the refusal arrived
    showNotice(describe(error));
    if (isRefusal(error)) console.warn(`ragkit widget: ${location.origin} is not allowed for this widget (${error.code})`);
  }

  // --- messages ---
  function append(node) {
    const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(node);
    if (stick || busy) log.scrollTop = log.scrollHeight;
    return node;
  }

  function userBubble(text) {
    return append(el("div", { class: "msg user", text }));
  }

  function answerBubble(message, question, bubble) {
    bubble = bubble || append(el("div", { class: "msg bot" }));
    bubble.className = "msg bot" + (message.abstained ? " abstained" : "");
    bubble.removeAttribute("aria-busy");
    bubble.replaceChildren();
    const citations = new Map((message.citations || []).map((citation) => [citation.n, citation]));
    const toggles = new Map();
    const sources = el("ol", { class: "sources", "aria-label": "Sources" });
    for (const citation of citations.values()) {
      const item = el("li");
      toggles.set(citation.n, sourceDisclosure(message, citation, item));
      sources.append(item);
    }
    message.content.split(/(\[\d+\])/).forEach((part) => {
      const n = /^\[(\d+)\]$/.test(part) && Number(part.slice(1, -1));
      if (n && citations.has(n)) {
        bubble.append(
          el("button", {
            class: "cite",
            type: "button",
            text: part,
            "aria-label": `Source ${n}: ${citations.get(n).title}`,
            onclick: () => toggles.get(n)(true),
          }),
        );
      } else if (part) bubble.append(document.createTextNode(part));
    });
    if (citations.size) bubble.append(sources);
    if (message.abstained) {
      bubble.append(
        el("p", { class: "note" }, [
          "Our help articles don't cover this. ",
          el("button", { class: "link", type: "button", text: "Talk to a person", onclick: () => showHandoff(question) }),
        ]),
      );
    } else if (config && config.enable_feedback && message.id) {
      bubble.append(feedbackButtons(message, question));
    }
    return bubble;
  }

  function sourceLabel(citation) {
    const where = [citation.page != null && `page ${citation.page}`, citation.section].filter(Boolean);
    return `${citation.n}. ${citation.title || citation.source || "Source"}${where.length ? " — " + where.join(", ") : ""}`;
  }

  function sourceDisclosure(message, citation, item) {
    const id = `rk-passage-${message.id || "new"}-${citation.n}`;
    const region = el("div", { class: "passage", id, role: "region", "aria-label": `Passage from source ${citation.n}`, hidden: true });
    const button = el("button", {
      class: "source",
      type: "button",
      "aria-expanded": "false",
      "aria-controls": id,
      text: sourceLabel(citation),
      onclick: () => toggle(region.hidden),
    });
    let loaded = false;
    async function toggle(show) {
      region.hidden = !show;
      button.setAttribute("aria-expanded", String(show));
      if (!show) return;
      if (!loaded) {
        loaded = true;
        region.replaceChildren(el("p", { text: "Loading the passage…" }));
        try {
          const found = message.id
            ? await withConversation((current) =>
                call(`${base(current)}/messages/${encodeURIComponent(message.id)}/citations/${citation.n}`, { token: current.token }),
              )
            : citation;
          renderPassage(region, found);
        } catch (error) {
          loaded = false;
          region.replaceChildren(el("p", { text: "Couldn't load this passage. " + describe(error) }));
        }
      }
      region.scrollIntoView({ block: "nearest" });
    }
    item.append(button, region);
    return toggle;
  }

  function renderPassage(region, passage) {
    const text = passage.passage || passage.quote || "";
    const quote = (passage.quote || "").trim();
    const at = quote ? text.indexOf(quote) : -1;
    const body = el("blockquote", { style: "margin:0" });
    if (at < 0) body.append(document.createTextNode(text));
    else body.append(text.slice(0, at), el("mark", { text: quote }), text.slice(at + quote.length));
    region.replaceChildren(el("p", { text: sourceLabel(passage).replace(/^\d+\. /, "") }), body);
  }

  function feedbackButtons(message, question) {
    const status = el("span", { role: "status" });
    const buttons = [
      [1, "up", "Helpful"],
      [-1, "down", "Not helpful"],
    ].map(([rating, name, label]) => {
      const button = el("button", {
        class: name,
        type: "button",
        "aria-label": label,
        "aria-pressed": String(((conversation && conversation.ratings) || {})[message.id] === rating),
        onclick: () => rate(rating),
      });
      button.append(icon(ICON.thumb));
      return button;
    });
    async function rate(rating) {
      try {
        await withConversation((current) =>
          call(`${base(current)}/messages/${encodeURIComponent(message.id)}/feedback`, {
            method: "POST",
            body: { rating, comment: "" },
            token: current.token,
          }),
        );
        buttons[0].setAttribute("aria-pressed", String(rating === 1));
        buttons[1].setAttribute("aria-pressed", String(rating === -1));
        if (conversation) {
          conversation.ratings = { ...conversation.ratings, [message.id]: rating };
          storage.save(conversation);
        }
        status.replaceChildren("Thanks for your feedback. ");
        if (rating === -1)
          status.append(el("button", { class: "link", type: "button", text: "Talk to a person", onclick: () => showHandoff(question) }));
      } catch (error) {
        status.textContent = describe(error);
      }
    }
    return el("div", { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" }, [...buttons, status]);
  }

  // --- asking ---
  async function submitQuestion(event) {
    event.preventDefault();
    const text = question.value.trim();
    if (!text || busy || refused) return;
    busy = true;
    send.disabled = true;
    showNotice("");
    lastQuestion = text;
    question.value = "";
    const asked = userBubble(text);
    const bubble = append(el("div", { class: "msg bot typing", "aria-busy": "true" }));
    log.setAttribute("aria-busy", "true");
    try {
      performance.mark("ragkit:question");
      const response = await withConversation((current) =>
        call(`${base(current)}/messages/stream`, { method: "POST", body: { content: text }, token: current.token, raw: true }),
        true,
      );
      await stream(response, bubble);
    } catch (error) {
      bubble.remove();
      if (error.status !== 0) asked.remove();
      question.value = question.value || text;
      if (isRefusal(error)) refuse(error);
      else showNotice(describe(error));
    } finally {
      busy = false;
      send.disabled = refused;
      log.removeAttribute("aria-busy");
    }
  }

  async function stream(response, bubble) {
    let first = true;
    for await (const { name, data } of events(response)) {
      if (name === "delta") {
        if (first) {
          performance.mark("ragkit:first-token");
          bubble.classList.remove("typing");
          first = false;
        }
        bubble.append(document.createTextNode(data.text));
        if (log.scrollHeight - log.scrollTop - log.clientHeight < 80) log.scrollTop = log.scrollHeight;
      } else if (name === "done") {
        answerBubble(data.assistant_message, data.user_message.content, bubble);
        return;
      } else if (name === "error") {
        throw Object.assign(new Error(data.message), { status: data.status || 500, code: data.code });
      }
    }
    throw Object.assign(new Error("The answer was interrupted. Please ask again."), { status: 500 });
  }

  // --- handoff to a person ---
  function showHandoff(about) {
    if (refused) return;
    askForm.hidden = true;
    handoffForm.hidden = false;
    showNotice("");
    if (about && !handoffMessage.value) handoffMessage.value = about;
    log.scrollTop = log.scrollHeight;
    email.focus();
  }

  function hideHandoff() {
    handoffForm.hidden = true;
    askForm.hidden = false;
    question.focus();
  }

  async function submitHandoff(event) {
    event.preventDefault();
    const submit = handoffForm.querySelector(".submit");
    submit.disabled = true;
    try {
      const body = { email: email.value.trim(), message: handoffMessage.value.trim() };
      await withConversation(
        (current) => call(`${base(current)}/handoff`, { method: "POST", body, token: current.token }),
        true,
      );
      handoffMessage.value = "";
      hideHandoff();
      showNotice(`Thanks! Your message was sent; our team will reply to ${body.email}.`, true);
    } catch (error) {
      showNotice(describe(error));
    } finally {
      submit.disabled = false;
    }
  }

  // --- start ---
  async function restore() {
    if (!conversation) return;
    try {
      const messages = await call(`${base(conversation)}/messages`, { token: conversation.token });
      for (const message of messages) {
        if (message.role === "user") {
          userBubble(message.content);
          lastQuestion = message.content;
        } else if (message.role === "assistant") answerBubble(message, lastQuestion);
      }
    } catch (error) {
      if (error.status === 401 || error.status === 404) forget();
      else throw error;
    }
  }

  async function start() {
    try {
      config = await call("");
      setColour(config.primary_color || FALLBACK_COLOUR);
      title.textContent = config.title || "Help";
      launcherLabel = "Open help chat: " + title.textContent;
      launcher.setAttribute("aria-label", launcherLabel);
      if (config.max_question_length) question.maxLength = config.max_question_length;
      handoffButton.hidden = config.enable_handoff === false;
      if (config.welcome_message) append(el("div", { class: "msg bot", text: config.welcome_message }));
      await restore();
    } catch (error) {
      if (error.status === 0 || error.status === 429 || error.status >= 500) showNotice(describe(error));
      else refuse(error);
    }
    if (storage.wasOpen()) open(false);
  }

  function mount() {
    document.body.append(host);
    start();
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
