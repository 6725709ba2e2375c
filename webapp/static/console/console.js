/* The support console's small scripts: uploads with progress, live document status,
   confirmations, copy buttons and the widget preview. Pages work without them. */
(function () {
  "use strict";

  var csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) node.textContent = text;
    return node;
  }

  /* Forms that ask before doing something that cannot be undone. */
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  /* Uploads: one request per file, each with its own progress bar. */
  function uploadOne(form, file, list) {
    return new Promise(function (resolve) {
      var item = el("li");
      var label = el("span", {}, file.name);
      var bar = el("progress", { max: "100", value: "0", "aria-label": "Uploading " + file.name });
      var state = el("span", { "class": "upload-state" }, "uploading…");
      item.append(label, bar, state);
      list.append(item);
      var data = new FormData();
      data.append("csrf_token", csrfToken);
      data.append("files", file, file.name);
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRFToken", csrfToken);
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      request.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(request.responseText); } catch (error) { body = {}; }
        if (request.status === 201) {
          bar.value = 100;
          state.textContent = "uploaded (" + body.status + ")";
          resolve(true);
        } else {
          item.classList.add("failed");
          state.textContent = body.message || ("failed (" + request.status + ")");
          resolve(false);
        }
      });
      request.addEventListener("error", function () {
        item.classList.add("failed");
        state.textContent = "the connection failed";
        resolve(false);
      });
      request.send(data);
    });
  }

  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = form.querySelector('input[type="file"]');
      var list = form.querySelector("[data-upload-list]");
      var files = Array.prototype.slice.call(input.files);
      if (!files.length) return;
      list.textContent = "";
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      files.reduce(function (previous, file) {
        return previous.then(function (results) {
          return uploadOne(form, file, list).then(function (ok) { return results.concat([ok]); });
        });
      }, Promise.resolve([])).then(function (results) {
        button.disabled = false;
        input.value = "";
        if (results.some(Boolean)) {
          var done = el("li", {}, "Done. Refreshing the list…");
          list.append(done);
          window.setTimeout(function () { window.location.reload(); }, results.every(Boolean) ? 600 : 4000);
        }
      });
    });
  });

  /* Documents being processed: poll their state every 2 s until they are ready or failed. */
  var busy = ["pending", "processing"];
  function pendingRows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-document]")).filter(function (row) {
      return busy.indexOf(row.getAttribute("data-status")) !== -1;
    });
  }
  function setField(row, name, value) {
    var cell = row.querySelector('[data-field="' + name + '"]');
    if (!cell) return;
    if (name === "status") {
      cell.textContent = "";
      cell.append(el("span", { "class": "badge badge-" + value }, value));
    } else if (name === "error") {
      cell.textContent = value || "";
      cell.hidden = !value;
    } else if (name === "updated_at") {
      cell.textContent = value ? value.slice(0, 16).replace("T", " ") : "—";
    } else {
      cell.textContent = value === null || value === undefined ? "—" : value;
    }
  }
  function poll() {
    var rows = pendingRows();
    if (!rows.length) return;
    var query = rows.map(function (row) { return "id=" + encodeURIComponent(row.getAttribute("data-document")); }).join("&");
    fetch(statusUrl + "?" + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { documents: [] }; })
      .then(function (body) {
        body.documents.forEach(function (state) {
          var row = document.querySelector('[data-document="' + state.id + '"]');
          if (!row) return;
          row.setAttribute("data-status", state.status);
          ["status", "chunk_count", "pages", "error", "updated_at"].forEach(function (name) {
            setField(row, name, state[name]);
          });
        });
      })
      .catch(function () { /* try again on the next tick */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  var statusUrl = document.body.getAttribute("data-status-url") || "/console/documents/status.json";
  if (pendingRows().length) window.setTimeout(poll, 2000);

  /* Copy buttons: copy the text of their target and say so. */
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById(button.getAttribute("aria-describedby"));
      var text = target.value || target.textContent;
      var done = function () { if (status) status.textContent = "Copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { target.select(); document.execCommand("copy"); done(); });
      } else {
        target.focus();
        target.select();
        document.execCommand("copy");
        done();
      }
    });
  });

  /* The widget preview: launcher and panel follow the form as it is edited. */
  function textColourOn(colour) {
    var probe = el("span");
    probe.style.color = "#000";
    probe.style.color = colour;
    document.body.append(probe);
    var rgb = getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || [0, 0, 0];
    probe.remove();
    var channel = rgb.slice(0, 3).map(function (value) {
      var c = Number(value) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * channel[0] + 0.7152 * channel[1] + 0.0722 * channel[2];
    return luminance > 0.179 ? "#111111" : "#ffffff";
  }
  var preview = document.querySelector("[data-widget-preview]");
  if (preview) {
    var form = document.querySelector("[data-widget-form]");
    var update = function () {
      var colour = form.querySelector('[name="primary_color"]').value.trim() || "#1a73e8";
      preview.style.setProperty("--widget-colour", colour);
      preview.style.setProperty("--widget-text", textColourOn(colour));
      preview.querySelector("[data-preview-title]").textContent = form.querySelector('[name="title"]').value || "Ask us";
      var welcome = form.querySelector('[name="welcome_message"]').value;
      var bubble = preview.querySelector("[data-preview-welcome]");
      bubble.textContent = welcome;
      bubble.hidden = !welcome;
      var thumbs = preview.querySelector("[data-preview-feedback]");
      thumbs.hidden = !form.querySelector('[name="enable_feedback"]').checked;
    };
    var picker = form.querySelector("[data-colour-picker]");
    if (picker) {
      picker.hidden = false;
      picker.addEventListener("input", function () {
        form.querySelector('[name="primary_color"]').value = picker.value;
        update();
      });
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    preview.querySelector("[data-preview-launcher]").addEventListener("click", function (event) {
      var panel = preview.querySelector("[data-preview-panel]");
      panel.hidden = !panel.hidden;
      event.currentTarget.setAttribute("aria-expanded", String(!panel.hidden));
    });
    update();
  }
})();
