// Keyboard shortcuts and the small comforts of the search and SMS screens; every page works without it.
(function () {
  "use strict";

  var NOT_TYPING = { checkbox: true, radio: true, button: true, submit: true, reset: true };

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    if (tag === "INPUT") return !NOT_TYPING[(target.type || "").toLowerCase()];
    return target.isContentEditable || tag === "TEXTAREA" || tag === "SELECT";
  }

  function rowBoxes() { return Array.prototype.slice.call(document.querySelectorAll("input.row-select")); }

  function updateSelection() {
    var output = document.getElementById("selected-count");
    if (!output) return;
    var boxes = rowBoxes();
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    var pageBox = document.getElementById("select-page");
    if (pageBox) {
      pageBox.checked = boxes.length > 0 && ticked === boxes.length;
      pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    var matching = document.getElementById("select-matching");
    var count = matching && matching.checked ? output.getAttribute("data-total") + " (all matching)" : String(ticked);
    output.hidden = false;
    output.textContent = count + " selected";
  }

  function nothingSelected() {
    var matching = document.getElementById("select-matching");
    return !(matching && matching.checked) && !rowBoxes().some(function (box) { return box.checked; });
  }

  function explainEmptySelection() {
    var help = document.getElementById("bulk-help");
    if (!help) return;
    help.textContent = "Nothing is ticked yet: tick people in the list, or Select all, then press Bulk SMS.";
    help.classList.add("error");
    announce(help.textContent);
  }

  function announce(text) {
    var status = document.getElementById("live-status");
    if (status) status.textContent = text;
  }

  function explainListLoading() {
    announce("The list is still loading: tick people once it is in.");
  }

  // The results on screen, and a message kept from an SMS screen closed because they changed.
  var shownResults = null;
  var keptMessage = "";

  function abortRequestsIn(container) {
    if (!window.htmx) return;
    Array.prototype.forEach.call(container.querySelectorAll("form, [hx-get], [hx-post]"), function (elt) {
      window.htmx.trigger(elt, "htmx:abort");
    });
  }

  // The SMS screen lists only people who are listed: when the results change under it, it closes
  // (its requests cancelled) and says so; the typed message waits for the next Bulk SMS.
  function resultsChanged() {
    var panel = document.getElementById("compose-panel");
    if (!panel || !panel.firstElementChild) return;
    if (!panel.querySelector("#compose")) { panel.innerHTML = ""; return; }
    var message = panel.querySelector("#message");
    if (message && message.value.trim()) keptMessage = message.value;
    abortRequestsIn(panel);
    panel.innerHTML = "";
    var notice = document.createElement("p");
    notice.className = "flash";
    notice.textContent = "The list changed, so the SMS screen was closed: tick people again, then " +
      "press Bulk SMS." + (keptMessage ? " Your message is kept for it." : "");
    panel.appendChild(notice);
    var status = document.getElementById("live-status");
    if (status) status.textContent = (status.textContent + " " + notice.textContent).trim();
  }

  function restoreKeptMessage() {
    var message = document.getElementById("message");
    if (!keptMessage || !message || message.value) return;
    message.value = keptMessage;
    keptMessage = "";
    message.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    if (typeof start !== "number") { start = end = textarea.value.length; }
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    textarea.focus();
    textarea.setSelectionRange(start + text.length, start + text.length);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function closeCompose() {
    var panel = document.getElementById("compose-panel");
    if (!panel || !panel.firstElementChild) return false;
    panel.innerHTML = "";
    var button = document.getElementById("bulk-sms-button");
    if (button) button.focus();
    return true;
  }

  function toggleHelp(show) {
    var help = document.getElementById("shortcuts-help");
    var toggle = document.querySelector(".shortcuts-toggle");
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
    if (toggle) toggle.setAttribute("aria-expanded", String(!help.hidden));
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-page") {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
      updateSelection();
    } else if (target.classList.contains("row-select") || target.id === "select-matching") {
      updateSelection();
    } else if (target.classList.contains("merge-field-picker") && target.value) {
      var option = target.options[target.selectedIndex];
      var textarea = document.getElementById(target.getAttribute("data-target"));
      if (textarea) insertAtCursor(textarea, option.getAttribute("data-tag"));
      target.value = "";
    }
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("#compose-panel .compose-cancel");
    if (cancel && closeCompose()) event.preventDefault();
    var toggle = event.target.closest && event.target.closest(".shortcuts-toggle");
    if (toggle) toggleHelp();
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "bulk-sms" && nothingSelected()) {
      event.preventDefault();
      explainEmptySelection();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var results = document.getElementById("results");
    if (results !== shownResults) {
      shownResults = results;
      resultsChanged();
    }
    if (event.detail.target && event.detail.target.id === "compose-panel") restoreKeptMessage();
    updateSelection();
    // A template just swapped in: typing or inserting a merge field carries on at its end, not
    // before its first word, whether or not the Message box has the focus yet.
    var message = document.getElementById("message");
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (message && trigger && trigger.id === "template_id") {
      message.setSelectionRange(message.value.length, message.value.length);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      if (closeCompose()) { event.preventDefault(); return; }
      toggleHelp(false);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "/") {
      var search = document.getElementById("q");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (event.key === "a" || event.key === "b") {
      var control = document.getElementById(event.key === "a" ? "select-page" : "bulk-sms-button");
      if (!control) return;
      event.preventDefault();
      // While a search (or another page) is on its way, htmx disables the tick boxes and Bulk SMS
      // (hx-disabled-elt on #search and the pager): ticks made now would be for a list about to go.
      if (control.disabled) { explainListLoading(); return; }
      control.click();
      if (event.key === "a") control.focus();
    } else if (event.key === "?") {
      event.preventDefault();
      toggleHelp();
    }
  });

  // Back and Forward put a page back from htmx's history cache: its results and SMS panel belong
  // together (nothing to close), but the search fields hold what they held when the page was first
  // loaded. The URL is the search the results were made by, so Search shows that again, and a Bulk
  // SMS from this list is not refused as ticked on another search.
  function fillSearchFromUrl() {
    var form = document.getElementById("search");
    if (!form) return;
    var params = new URLSearchParams(window.location.search);
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.type === "submit") return;
      var value = params.get(field.name);
      if (field.tagName === "SELECT" && value === null) field.selectedIndex = 0;
      else field.value = value === null ? "" : value;
    });
  }

  document.addEventListener("htmx:historyRestore", function () {
    shownResults = document.getElementById("results");
    fillSearchFromUrl();
  });

  document.addEventListener("DOMContentLoaded", function () {
    shownResults = document.getElementById("results");
    var toggle = document.querySelector(".shortcuts-toggle");
    if (toggle) toggle.hidden = false;
    updateSelection();
  });
})();
