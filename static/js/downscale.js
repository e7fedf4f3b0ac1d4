/* Photos of paper shrink before they are sent (issue 16 §1).
 *
 * For every <input type="file" data-downscale>: when a JPEG or PNG is chosen whose longer side
 * exceeds data-max-side pixels (the tenant's uploads.image_max_side), the image is decoded turned
 * as its EXIF asks, drawn scaled on a canvas, re-encoded as a JPEG and put back into the input
 * in place of the original, with a preview and a line saying how much smaller it became. While
 * that runs the form carries data-busy and its submit buttons are disabled; whatever reads
 * input.files waits for data-busy to go. If anything fails, the original file stays selected.
 * The server scales images down again on receipt (app/uploads downscaled), so without this
 * script the stored copy is just as small; only the bytes on the wire differ.
 *
 * The texts come translated from the server: data-msg-working, data-msg-done (with {before} and
 * {after}) and data-msg-preview on the input.
 */
(function () {
  "use strict";

  var TYPES = { "image/jpeg": true, "image/png": true };
  var QUALITY = 0.8;        // as JPEG_QUALITY in app/uploads: text stays crisp
  var DEFAULT_SIDE = 2000;  // the schema's default for uploads.image_max_side

  if (!window.createImageBitmap || !window.DataTransfer || !window.HTMLCanvasElement) {
    return;  // an old browser sends the original; the server scales it down
  }

  /* As app/web.py filesize shows sizes. */
  function size(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return Math.round(n / 1024) + " KB";
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  function decode(file) {
    // "from-image" turns the pixels as the EXIF orientation asks; a browser that does not
    // know the option refuses it, and its default does the same.
    return createImageBitmap(file, { imageOrientation: "from-image" })
      .catch(function () { return createImageBitmap(file); });
  }

  function encode(bitmap, maxSide) {
    var scale = maxSide / Math.max(bitmap.width, bitmap.height);
    if (!(scale < 1)) {
      bitmap.close();
      return Promise.resolve(null);
    }
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";  // a transparent PNG comes out on white paper, not black
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return new Promise(function (resolve) {
      canvas.toBlob(resolve, "image/jpeg", QUALITY);
    });
  }

  /* The box after the input (after its label when the label wraps it) holding the note and
   * the preview; created on demand, emptied on every new choice. */
  function box(input, create) {
    var anchor = input.closest("label") || input;
    var next = anchor.nextElementSibling;
    if (next && next.classList.contains("downscale")) {
      next.textContent = "";
      return next;
    }
    if (!create) return null;
    var el = document.createElement("span");
    el.className = "downscale";
    anchor.insertAdjacentElement("afterend", el);
    return el;
  }

  function note(el, text) {
    var line = document.createElement("small");
    line.setAttribute("role", "status");
    line.textContent = text;
    el.appendChild(line);
  }

  /* data-busy on the form and its submit buttons disabled while any of its inputs works. */
  function busy(form, on) {
    if (!form) return;
    var count = (form._downscaling || 0) + (on ? 1 : -1);
    form._downscaling = Math.max(0, count);
    var buttons = form.querySelectorAll("button:not([type=button]):not([type=reset]), input[type=submit]");
    if (form._downscaling > 0) {
      form.setAttribute("data-busy", "");
      buttons.forEach(function (b) {
        if (!b.disabled) {
          b.disabled = true;
          b.setAttribute("data-downscale-disabled", "");
        }
      });
    } else {
      form.removeAttribute("data-busy");
      buttons.forEach(function (b) {
        if (b.hasAttribute("data-downscale-disabled")) {
          b.disabled = false;
          b.removeAttribute("data-downscale-disabled");
        }
      });
    }
  }

  function preview(el, input, file) {
    var reader = new FileReader();  // a data: URL, which the Content-Security-Policy allows
    reader.onload = function () {
      var img = document.createElement("img");
      img.alt = input.getAttribute("data-msg-preview") || "";
      img.src = reader.result;
      el.insertBefore(img, el.firstChild);
    };
    reader.readAsDataURL(file);
  }

  function shrink(input) {
    var file = input.files && input.files[0];
    var el = box(input, false);
    var turn = {};
    input._downscaleTurn = turn;  // a later choice makes this one moot
    if (!file || !TYPES[file.type]) return;
    var maxSide = parseInt(input.getAttribute("data-max-side"), 10) || DEFAULT_SIDE;
    var form = input.form;
    busy(form, true);
    el = box(input, true);
    note(el, input.getAttribute("data-msg-working") || "…");
    decode(file)
      .then(function (bitmap) { return encode(bitmap, maxSide); })
      .then(function (blob) {
        if (input._downscaleTurn !== turn) return;
        el.textContent = "";
        if (!blob || blob.size >= file.size) return;  // small enough already: sent as it is
        var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
        var smaller = new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified });
        var list = new DataTransfer();
        list.items.add(smaller);
        input.files = list.files;  // fires no change event
        var done = input.getAttribute("data-msg-done") || "{before} → {after}";
        note(el, done.replace("{before}", size(file.size)).replace("{after}", size(smaller.size)));
        preview(el, input, smaller);
      })
      .catch(function () {
        if (input._downscaleTurn === turn) el.textContent = "";  // the original stays chosen
      })
      .then(function () { busy(form, false); });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file" &&
        input.hasAttribute("data-downscale")) {
      shrink(input);
    }
  });
})();
