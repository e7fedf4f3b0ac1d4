/* A section's save that fails on the way: the network is down, or the server answered with an
   error. htmx does not swap then (see the htmx-config meta in base.html), so what the user typed
   stays in the fields; this says so in the section's status line, in the page's language (the
   section carries the sentence in data-save-failed). The next save that gets through replaces
   the message. */
(function () {
  "use strict";

  function failed(event) {
    var elt = event.detail && event.detail.elt;
    var section = elt && elt.closest ? elt.closest("[data-save-failed]") : null;
    var status = section && section.querySelector(".save-status");
    if (!status) {
      return;
    }
    var message = document.createElement("p");
    message.className = "flash error";
    message.setAttribute("role", "alert");
    message.textContent = section.getAttribute("data-save-failed");
    status.replaceChildren(message);
  }

  ["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, failed);
  });
}());
