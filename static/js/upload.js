/* Resumable scan uploads (the tus core protocol, app/uploads/resumable.py). Enhances every
   form[data-resumable]: the file goes in pieces from the offset the server has stored, so a cut
   line, a sleeping laptop or a reload costs no finished piece. Without this script (or without
   fetch / SubtleCrypto) the form posts the file as before. */
(function () {
  "use strict";
  var CHUNK = 256 * 1024;
  var TUS = "1.0.0";
  if (!window.fetch || !window.crypto || !window.crypto.subtle || !window.localStorage) return;

  function b64(text) {
    var bytes = new TextEncoder().encode(text), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin);
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      var timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); window.removeEventListener("online", done); resolve(); }
      window.addEventListener("online", done);  // back on line: go on at once
    });
  }

  function notBusy(form) {  // another script (photo downscaling) may still be replacing the file
    return new Promise(function (resolve) {
      if (!form.hasAttribute("data-busy")) return resolve();
      var watch = new MutationObserver(function () {
        if (!form.hasAttribute("data-busy")) { watch.disconnect(); resolve(); }
      });
      watch.observe(form, { attributes: true, attributeFilter: ["data-busy"] });
    });
  }

  function Upload(form) {
    this.form = form;
    this.token = (form.querySelector("input[name=csrf_token]") || {}).value || "";
    this.status = form.querySelector(".upload-status");
    this.bar = form.querySelector("progress");
  }

  Upload.prototype.say = function (key, extra) {
    if (this.status) this.status.textContent = (this.form.getAttribute("data-msg-" + key) || "") + (extra || "");
  };

  Upload.prototype.request = function (method, url, headers, body) {
    headers["Tus-Resumable"] = TUS;
    if (method !== "HEAD") headers["X-CSRFToken"] = this.token;
    return fetch(url, { method: method, headers: headers, body: body, credentials: "same-origin",
                        cache: "no-store", redirect: "manual" });
  };

  // Why the server refused, as {refused: message}; null when it is worth trying again later.
  // Signed out: the upload is kept (keep) and goes on once the applicant signs in again.
  Upload.prototype.refusal = function (resp) {
    if (resp.type === "opaqueredirect") {
      return Promise.resolve({ refused: this.form.getAttribute("data-msg-login") || "", keep: true });
    }
    if (resp.status >= 500 || resp.status === 423 || resp.status === 408 || resp.status === 0) {
      return Promise.resolve(null);
    }
    return resp.text().then(function (text) { return { refused: text || String(resp.status) }; });
  };

  function refuse(self, resp, what) {
    return self.refusal(resp).then(function (refusal) {
      if (refusal === null) throw new Error(what + " " + resp.status);
      throw refusal;
    });
  }

  Upload.prototype.offset = function (url) {
    var self = this;
    return this.request("HEAD", url, {}).then(function (resp) {
      if (resp.status === 404) return -1;
      if (!resp.ok) return refuse(self, resp, "HEAD");
      return parseInt(resp.headers.get("Upload-Offset"), 10);
    });
  };

  Upload.prototype.create = function (file, material, digest) {
    var self = this, meta = "filename " + b64(file.name) + ",material " + b64(material) + ",sha256 " + b64(digest);
    return this.request("POST", this.form.getAttribute("data-resumable"),
                        { "Upload-Length": String(file.size), "Upload-Metadata": meta })
      .then(function (resp) {
        if (resp.status === 201) return resp.headers.get("Location");
        return refuse(self, resp, "POST");
      });
  };

  Upload.prototype.send = function (file, url, start) {
    var self = this;
    var piece = file.slice(start, Math.min(file.size, start + CHUNK));
    return this.request("PATCH", url, { "Content-Type": "application/offset+octet-stream",
                                        "Upload-Offset": String(start) }, piece)
      .then(function (resp) {
        if (resp.status === 204 || resp.status === 409) {
          return parseInt(resp.headers.get("Upload-Offset"), 10);
        }
        if (resp.status === 404) throw { gone: true };  // removed (abandoned too long): begin anew
        return refuse(self, resp, "PATCH");
      });
  };

  Upload.prototype.run = function (file, material) {
    var self = this, key = "upload:" + this.form.getAttribute("data-key") + ":" + material + ":" +
      file.name + ":" + file.size + ":" + file.lastModified;
    var url = localStorage.getItem(key), at = 0, failures = 0;
    if (this.bar) { this.bar.hidden = false; this.bar.value = 0; }
    this.say("checking");

    function progress() {
      if (self.bar) self.bar.value = file.size ? Math.floor(100 * at / file.size) : 100;
      self.say("sending", " " + (self.bar ? self.bar.value : 0) + "%");
    }

    function forget() { localStorage.removeItem(key); url = null; }

    function start() {  // the remembered upload's offset, or a new upload's
      var known = url ? self.offset(url) : Promise.resolve(-1);
      return known.then(function (offset) {
        if (offset >= 0) return offset;
        forget();
        return file.arrayBuffer().then(function (buf) { return crypto.subtle.digest("SHA-256", buf); })
          .then(function (digest) { return self.create(file, material, hex(digest)); })
          .then(function (location) { url = location; localStorage.setItem(key, url); return self.offset(url); });
      });
    }

    function step() {
      if (at >= file.size) return Promise.resolve();
      progress();
      return self.send(file, url, at).then(function (next) {
        at = next;
        failures = 0;
        return step();
      });
    }

    function attempt() {
      return start().then(function (offset) { at = offset; return step(); })
        .catch(function (err) {
          if (err && err.refused !== undefined) throw err;
          if (err && err.gone) { forget(); return attempt(); }
          failures += 1;  // off line or a server hiccup: wait, then ask where we are
          self.say(navigator.onLine === false ? "offline" : "retrying");
          return sleep(Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5)))).then(attempt);
        });
    }

    return attempt().then(function () {
      localStorage.removeItem(key);
      at = file.size;
      progress();
      self.say("done");
      return self.refresh();
    }, function (err) {
      if (err && err.refused !== undefined) {
        if (!err.keep) localStorage.removeItem(key);
        if (self.bar) self.bar.hidden = true;
        if (self.status) self.status.textContent = err.refused;
        return;
      }
      throw err;
    });
  };

  // The attachments and the submit box as the page now shows them.
  Upload.prototype.refresh = function () {
    var url = this.form.getAttribute("data-refresh");
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
      return resp.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      ["attachments", "submit"].forEach(function (id) {
        var fresh = doc.getElementById(id), old = document.getElementById(id);
        if (fresh && old) {
          old.replaceWith(fresh);
          if (window.htmx) window.htmx.process(fresh);
        }
      });
    });
  };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-resumable]")) return;
    var input = form.querySelector("input[type=file]");
    if (!input || !input.files || !input.files.length) return;  // the server says what is missing
    event.preventDefault();
    event.stopPropagation();  // not also posted by htmx
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    var upload = new Upload(form);
    upload.say("checking");
    notBusy(form).then(function () {
      var file = input.files[0];  // read now: it may have been replaced by a smaller copy
      var material = (form.querySelector("[name=material]") || {}).value || "";
      return upload.run(file, material);
    }).catch(function () {
      upload.say("failed");
    }).then(function () {
      if (button) button.disabled = false;
    });
  }, true);
})();
