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
    // data-total is the count as the label shows it ("1,000+" when there are more to count).
    var count = matching && matching.checked ? output.getAttribute("data-total") + " (all matching)" : String(ticked);
    output.hidden = false;
    output.textContent = count + " selected";
  }

  // --- the ticks Back brings back are the same people's -----------------------------------------
  // The browser would tick the nth box again, whoever is nth now: someone added meanwhile who sorts
  // before the ticked would be ticked (and sent the SMS) in their place. The boxes are
  // autocomplete="off" (search/people.html), and the ids ticked are kept here for the page's
  // address, as they are on leaving it; when Back (or a reload) loads that address again, the rows
  // of those ids are ticked. A page arrived at otherwise starts with none. "Select all N matching"
  // is one box, not a place in the list: the browser puts it back itself.
  var TICKS = "sms-desk-ticks:";

  function ticksKey() { return TICKS + window.location.pathname + window.location.search; }

  function saveTicks() {
    if (!document.getElementById("selected-count")) return;
    var ids = rowBoxes().filter(function (box) { return box.checked; })
      .map(function (box) { return box.value; });
    try {
      if (ids.length) sessionStorage.setItem(ticksKey(), JSON.stringify(ids));
      else sessionStorage.removeItem(ticksKey());
    } catch (error) { /* storage full or off: Back brings no ticks */ }
  }

  function cameBack() {
    var how = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation") : [];
    return how.length > 0 && (how[0].type === "back_forward" || how[0].type === "reload");
  }

  function restoreTicks() {
    if (!document.getElementById("selected-count")) return;
    if (!cameBack()) { saveTicks(); return; }
    var ids = [];
    try {
      ids = JSON.parse(sessionStorage.getItem(ticksKey()) || "[]");
    } catch (error) { /* none kept */ }
    rowBoxes().forEach(function (box) { box.checked = ids.indexOf(box.value) >= 0; });
  }

  window.addEventListener("pagehide", saveTicks);

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

  // The results on screen (a swap that replaces them is a new list), and a message typed on an
  // SMS screen closed because the list changed: it waits for the next Bulk SMS, whoever is ticked.
  var shownResults = null;
  var keptMessage = "";

  function abortRequestsIn(container) {
    if (!window.htmx) return;
    Array.prototype.forEach.call(container.querySelectorAll("form, [hx-get], [hx-post]"), function (elt) {
      window.htmx.trigger(elt, "htmx:abort");
    });
  }

  // A Send on its way: the server may have sent it already, so it is never cancelled (the page
  // would say "not sent", and sending again would send twice). The list changing meanwhile closes
  // the screen only if the Send comes back refused, rather than going to the batch page.
  var sending = null;
  var changedWhileSending = false;

  function isSend(event) {
    var config = event.detail.requestConfig;
    return !!config && /\/send$/.test(config.path || "");
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isSend(event)) { sending = event.detail.elt; changedWhileSending = false; }
  });

  function sendEnded(event) {
    if (!sending || !isSend(event)) return;
    sending = null;
    var redirected = event.detail.xhr && event.detail.xhr.getResponseHeader("HX-Redirect");
    if (changedWhileSending && !redirected) {
      changedWhileSending = false;
      // Once the refusal is drawn: the screen it shows is for a list that is gone.
      setTimeout(resultsChanged, 0);
    }
  }

  // A refusal redraws the screen (the form that sent it is gone before htmx:afterRequest, which
  // then never reaches the document); an answer with nothing to draw ends in htmx:afterRequest.
  document.addEventListener("htmx:beforeSwap", sendEnded);
  document.addEventListener("htmx:afterRequest", sendEnded);

  // --- a date typed from the keyboard is waited for -------------------------------------------
  // A date field takes its year a digit at a time, and holds a whole date after each (2026 goes
  // 0002, 0020, 0202; a fifth digit makes 20261): each would filter the list, be refused with an
  // alert read aloud, and add a step to the history. Typing does not filter by a year the server
  // refuses (webapp/filters.py: FIRST_DAY to LAST_DAY); Filter and Enter (a submit) still send
  // it, for the server to say what is wrong.
  document.addEventListener("htmx:confirm", function (event) {
    var typed = event.detail.triggeringEvent;
    var field = typed && typed.type === "input" ? typed.target : null;
    if (!field || field.tagName !== "INPUT" || field.type !== "date" || !field.value) return;
    var year = parseInt(field.value.split("-")[0], 10);
    if (!(year >= 1900 && year <= 2999)) event.preventDefault();
  });

  // --- a list's filter errors follow its results ------------------------------------------------
  // A filter form refreshes only the results, where the summary of the values left out is: each
  // field's own error and aria-invalid are put in step with it, so a value corrected by typing
  // stops being marked wrong, and one wrong now is marked.
  document.addEventListener("htmx:afterSwap", function (event) {
    // The element that asked (the event's own elt is the content swapped in).
    var config = event.detail.requestConfig;
    var elt = config && config.elt;
    var form = elt && elt.closest ? elt.closest("form.filters") : null;
    var target = event.detail.target;
    if (!form || !target || target.id !== "results") return;
    var wrong = {};
    // The results now on the page (an outerHTML swap's target is the element it replaced).
    var results = document.getElementById("results");
    if (!results) return;
    results.querySelectorAll(".error-summary li[data-field]").forEach(function (item) {
      wrong[item.getAttribute("data-field")] = item.textContent;
    });
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.type === "hidden" || field.type === "submit") return;
      var errorId = field.name + "-error";
      var said = document.getElementById(errorId);
      var described = (field.getAttribute("aria-describedby") || "").split(/\s+/)
        .filter(function (id) { return id && id !== errorId; });
      if (Object.prototype.hasOwnProperty.call(wrong, field.name)) {
        if (!said) {
          said = document.createElement("span");
          said.className = "error";
          said.id = errorId;
          field.parentNode.appendChild(said);
        }
        said.textContent = wrong[field.name];
        field.setAttribute("aria-invalid", "true");
        described.push(errorId);
      } else {
        if (said && form.contains(said)) said.remove();
        field.removeAttribute("aria-invalid");
      }
      if (described.length) field.setAttribute("aria-describedby", described.join(" "));
      else field.removeAttribute("aria-describedby");
    });
  });

  // The SMS screen lists only people who are listed: when the results change under it, it closes
  // (its requests cancelled) and says so. The typed message is also in the server's draft (a Bulk
  // SMS for the same people opens it again); kept here, it fills an empty Message for others.
  function resultsChanged() {
    cancelRowSms();
    var panel = document.getElementById("compose-panel");
    if (!panel || !panel.firstElementChild) return;
    if (sending && document.contains(sending) && panel.contains(sending)) {
      changedWhileSending = true;
      return;
    }
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

  function closeCompose() {
    var panel = document.getElementById("compose-panel");
    if (!panel || !panel.firstElementChild) return false;
    panel.innerHTML = "";
    syncLayout();
    var opener = composeOpener && document.contains(composeOpener) ? composeOpener : null;
    composeOpener = null;
    var back = opener || document.getElementById("bulk-sms-button");
    if (back) back.focus();
    return true;
  }

  // The results table is one Tab stop walked with the arrow keys: the ARIA grid pattern, so that a
  // screen reader passes the keys on (it leaves browse mode in a grid). One control at a time is in
  // the Tab order (a roving tabindex); without this script every control is a Tab stop.
  var CONTROLS = "input, a[href], button";

  function resultsGrid() { return document.getElementById("results-table"); }

  function cellControl(cell) {
    var control = cell.querySelector(CONTROLS);
    if (control) return control;
    cell.tabIndex = -1;
    return cell;
  }

  function makeStop(table, target) {
    var current = table.querySelector('[tabindex="0"]');
    if (current && current !== target) current.tabIndex = -1;
    target.tabIndex = 0;
  }

  function initGrid() {
    var table = resultsGrid();
    // A table put back by Back/Forward comes with its roles and stops already set.
    if (!table || table.getAttribute("role") === "grid") return;
    table.setAttribute("role", "grid");
    Array.prototype.forEach.call(table.querySelectorAll(CONTROLS), function (control) {
      control.tabIndex = -1;
    });
    var first = table.tBodies[0] && table.tBodies[0].rows[0];
    if (first) cellControl(first.cells[0]).tabIndex = 0;
  }

  function enterGrid() {
    var table = resultsGrid();
    if (!table) return false;
    initGrid();
    var stop = table.querySelector('[tabindex="0"]');
    if (stop) stop.focus();
    return !!stop;
  }

  // A phone shows no empty fact (app.css: a person without a Job title has no "Job title:"), and
  // a cell not shown takes no focus: made the Tab stop, it took the list out of the Tab order
  // while the focus stayed behind. The keys pass over it: ← and → (`step` -1 or 1) to the next
  // cell shown that way, staying put at the row's end; ↑, ↓, Home and End to the nearest cell
  // shown in the row they reach, the earlier of two as near.
  function shown(cell) { return cell.getClientRects().length > 0; }

  function shownCell(row, column, step) {
    var cells = row.cells;
    if (step) {
      for (var along = column; along >= 0 && along < cells.length; along += step) {
        if (shown(cells[along])) return cells[along];
      }
      return null;
    }
    var at = Math.max(0, Math.min(column, cells.length - 1));
    for (var away = 0; away < cells.length; away++) {
      if (at - away >= 0 && shown(cells[at - away])) return cells[at - away];
      if (at + away < cells.length && shown(cells[at + away])) return cells[at + away];
    }
    return null;
  }

  function focusCell(table, rowIndex, column, step) {
    var row = table.rows[Math.max(0, Math.min(rowIndex, table.rows.length - 1))];
    var cell = shownCell(row, column, step || 0);
    if (!cell) return;
    var target = cellControl(cell);
    makeStop(table, target);
    target.focus();
  }

  // The browser scrolls a focused row only until it is in the window, which may leave it under
  // the Bulk SMS bar stuck to the window's foot (app.css): x would tick a box nobody can see.
  // Called as the focus arrives (focusin), before the browser's own scroll, which then has
  // nothing left to do for a row below; a row above is still scrolled to the top by the browser.
  // Only for the keyboard: a click's focus comes between its press and release, and a scroll
  // then would move what is clicked from under the pointer.
  function clearOfBar(target) {
    var bar = document.querySelector(".selection-bar");
    var row = target.closest("tr");
    if (!bar || !row || !byKeyboard(target)) return;
    var hidden = row.getBoundingClientRect().bottom - bar.getBoundingClientRect().top;
    if (hidden > 0) window.scrollBy(0, hidden);
  }

  // What moved the focus last, for a browser without :focus-visible (Safari before 15.4).
  var pointerLast = false;
  document.addEventListener("pointerdown", function () { pointerLast = true; }, true);
  document.addEventListener("keydown", function () { pointerLast = false; }, true);

  function byKeyboard(target) {
    try { return target.matches(":focus-visible"); } catch (error) { return !pointerLast; }
  }

  function tick(box) {
    // Disabled while a search or another page is on its way (hx-disabled-elt).
    if (box.disabled) explainListLoading();
    else box.click();
  }

  // Who opened the SMS screen: the focus goes back there when it closes.
  var composeOpener = null;

  // A row's SMS screen on its way (s): it is not on the search's sync point as Bulk SMS is, so a
  // search, another page, Bulk SMS or another s cancels it here; late, it would open the screen
  // for someone the list no longer shows, or over the Bulk SMS screen asked for since.
  var rowSms = null;  // { row, xhr }

  function cancelRowSms() {
    var pending = rowSms;
    rowSms = null;
    if (pending && pending.xhr) pending.xhr.abort();
  }

  function openRowSms(row, opener) {
    var box = row.querySelector(".row-select");
    if (box && box.disabled) { explainListLoading(); return; }
    var url = row.getAttribute("data-sms-url");
    if (!window.htmx) { window.location.assign(url); return; }
    cancelRowSms();
    composeOpener = opener;
    rowSms = { row: row, xhr: null };  // its xhr arrives with htmx:beforeSend
    // Cancelled, its promise is rejected: nothing is left to do then.
    window.htmx.ajax("GET", url, { source: row, target: "#compose-panel", swap: "innerHTML" })
      .catch(function () {});
  }

  document.addEventListener("htmx:beforeSend", function (event) {
    if (rowSms && !rowSms.xhr && event.detail.elt === rowSms.row) rowSms.xhr = event.detail.xhr;
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (rowSms && event.detail.xhr === rowSms.xhr) rowSms = null;
  });

  // The key a shortcut reads: event.key, but with another alphabet's layout on (Russian "ч" on
  // the X key, Greek "χ") the Latin letter of the key's place (event.code "KeyX" → "x"), so the
  // letter shortcuts work whichever layout the recruiter types in. With Caps Lock on (key "J",
  // no Shift) it is the lower-case letter: the key's own, not its place's, so on AZERTY the A key
  // (code "KeyQ") stays "a". Shift with a letter stays upper case (no shortcut is Shift+letter).
  function shortcutKey(event) {
    var key = event.key;
    var code = event.code || "";
    if (key && key.length === 1 && key.charCodeAt(0) > 127 && /^Key[A-Z]$/.test(code)) {
      return code.charAt(3).toLowerCase();
    }
    if (key && /^[A-Z]$/.test(key) && !event.shiftKey) return key.toLowerCase();
    return key;
  }

  // A key pressed on a cell of the results: true when it was the grid's to handle.
  function gridKey(event) {
    var table = resultsGrid();
    var cell = table && table.getAttribute("role") === "grid" && event.target.closest("td, th");
    if (!cell || !table.contains(cell) || event.altKey || event.metaKey || event.shiftKey) return false;
    var key = shortcutKey(event);
    if (event.ctrlKey && key !== "Home" && key !== "End") return false;
    var row = cell.parentElement;
    var firstRow = table.tHead ? table.tHead.rows.length : 0;
    var inBody = row.rowIndex >= firstRow;
    if (key === "ArrowDown" || key === "j") focusCell(table, row.rowIndex + 1, cell.cellIndex);
    else if (key === "ArrowUp" || key === "k") focusCell(table, row.rowIndex - 1, cell.cellIndex);
    else if (key === "ArrowRight") focusCell(table, row.rowIndex, cell.cellIndex + 1, 1);
    else if (key === "ArrowLeft") focusCell(table, row.rowIndex, cell.cellIndex - 1, -1);
    else if (key === "Home") focusCell(table, firstRow, cell.cellIndex);
    else if (key === "End") focusCell(table, table.rows.length - 1, cell.cellIndex);
    else if (key === "x" || key === " ") {
      var box = row.querySelector("input[type=checkbox]");
      if (!box) return false;
      if (key === " " && event.target === box) return true;  // the box ticks itself
      tick(box);
    } else if (key === "Enter" && inBody) {
      if (event.target.tagName === "A") return true;  // the link opens itself
      var link = row.querySelector(".name a");
      if (link) link.click();
    } else if (key === "s" && inBody && row.hasAttribute("data-sms-url")) {
      openRowSms(row, event.target);
    } else return false;
    event.preventDefault();
    return true;
  }

  // With JS on a wide screen the SMS screen sits beside the list (app.css), so both stay in view.
  function syncLayout() {
    var panel = document.getElementById("compose-panel");
    var layout = document.getElementById("search-layout");
    if (!panel || !layout) return;
    var open = !!panel.firstElementChild;
    layout.classList.toggle("panel-open", open);
    var main = document.getElementById("main");
    if (main) main.classList.toggle("with-side-panel", open);
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
      saveTicks();
    } else if (target.classList.contains("row-select") || target.id === "select-matching") {
      updateSelection();
      saveTicks();
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
    if (elt && elt.id === "bulk-sms") {
      if (nothingSelected()) {
        event.preventDefault();
        explainEmptySelection();
      } else {
        composeOpener = null;  // back to Bulk SMS when it closes
      }
    }
    // A new list or another SMS screen on its way: a row's SMS screen asked for before is not
    // wanted any more. (Requests from the SMS screen itself, the counter, leave it be.)
    var target = event.detail.target;
    var panel = document.getElementById("compose-panel");
    var fromPanel = panel && panel.contains(elt);
    if (rowSms && elt !== rowSms.row && !event.defaultPrevented && target && !fromPanel &&
        (target.id === "results" || target.id === "compose-panel")) {
      cancelRowSms();
    }
  });

  // An SMS screen just opened (Bulk SMS or s): the focus goes to its heading, which says who it is
  // for; later swaps inside it keep their own focus. Someone quick who went into one of its fields
  // before it settled stays there (htmx's autofocus would take them away mid-word, and their next
  // keys would become shortcuts), and so does someone gone on to type in a field outside it since
  // asking for it (s, then / to Search).
  var openingPanel = false;
  var enteredField = null;
  var askedFrom = null;  // where the focus was as the screen was asked for
  var typingElsewhere = null;  // a field outside the screen gone to since, as it came

  function isForPanel(event) {
    return !!event.detail.target && event.detail.target.id === "compose-panel";
  }

  // An SMS screen asked for (Bulk SMS or s) and not yet come: Esc cancels it. On a slow network
  // the panel is still empty then, and the screen would open later, for the ticks as they were,
  // and take the focus from the list the user went back to.
  var panelAsked = null;  // { xhr }

  document.addEventListener("htmx:beforeSend", function (event) {
    var panel = document.getElementById("compose-panel");
    if (!isForPanel(event) || (panel && panel.contains(event.detail.elt))) return;
    var request = { xhr: event.detail.xhr };
    panelAsked = request;
    request.xhr.addEventListener("loadend", function () {
      if (panelAsked === request) panelAsked = null;
    });
  });

  function cancelPanelAsked() {
    var request = panelAsked;
    panelAsked = null;
    if (!request) return false;
    request.xhr.abort();
    return true;
  }

  document.addEventListener("htmx:beforeSend", function (event) {
    if (isForPanel(event)) askedFrom = document.activeElement;
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isForPanel(event)) return;
    var active = document.activeElement;
    var moved = active !== askedFrom && typing(active) && !event.detail.target.contains(active);
    typingElsewhere = moved ? active : null;
  });

  document.addEventListener("focusin", function (event) {
    var panel = document.getElementById("compose-panel");
    var target = event.target;
    if (!openingPanel || !panel || !panel.contains(target)) return;
    if (target.id !== "compose-heading" && !target.hasAttribute("autofocus")) enteredField = target;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.target || event.detail.target.id !== "compose-panel") return;
    var field = enteredField;
    openingPanel = false;
    enteredField = null;
    var elsewhere = typingElsewhere;
    typingElsewhere = null;
    if (elsewhere && document.contains(elsewhere)) field = elsewhere;
    if (field && document.contains(field)) { field.focus(); return; }
    var heading = document.getElementById("compose-heading");
    if (heading) heading.focus();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var results = document.getElementById("results");
    if (results !== shownResults) {
      shownResults = results;
      resultsChanged();
    }
    if (event.detail.target && event.detail.target.id === "compose-panel") {
      openingPanel = true;
      enteredField = null;
      restoreKeptMessage();
    }
    syncLayout();
    initGrid();
    updateSelection();
    saveTicks();  // a new list (and address) starts with none
  });

  // A search typed and ↓ pressed before it answered: the focus went into the old list, which the
  // answer then replaces (its boxes disabled meanwhile, which already drops the focus), and would
  // fall to the page, the next x ticking nothing. It moves to the same place in the new list.
  var lastInGrid = null;  // the cell the focus is in, while it is in the list
  var gridFocus = null;

  document.addEventListener("focusin", function (event) {
    var table = resultsGrid();
    var cell = table && table.contains(event.target) && event.target.closest("td, th");
    lastInGrid = cell ? { row: cell.parentElement.rowIndex, column: cell.cellIndex } : null;
  });

  // A press elsewhere may leave the focus on the page without a focusin (a click on the page's
  // background; Safari focuses no clicked box or link): the list is not where the user is then.
  document.addEventListener("pointerdown", function (event) {
    var table = resultsGrid();
    if (!table || !table.contains(event.target)) lastInGrid = null;
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    var table = resultsGrid();
    var lost = !active || active === document.body || (table && table.contains(active));
    gridFocus = target && target.id === "results" && lost ? lastInGrid : null;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var place = gridFocus;
    gridFocus = null;
    var active = document.activeElement;
    if (!place || (active && active !== document.body && document.contains(active))) return;
    var table = resultsGrid();
    if (!table || !table.tBodies[0] || !table.tBodies[0].rows.length) {
      focusResultsHeading();  // nobody found (no list at all): the heading says so
      return;
    }
    initGrid();
    focusCell(table, place.row, place.column);
  });

  // A pager link (lists.html's pager) swaps in the list it is part of, and goes with the old one:
  // the focus would fall back to the top of the page. It goes to the new list's heading instead,
  // which says what is shown, and the next Tab goes on from there. (The SMS screen's preview has
  // a pager of its own, Next and Previous recipient: not a list's.)
  document.addEventListener("htmx:afterSwap", function (event) {
    var link = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!link || !link.closest || !link.closest(".pager") || link.closest("#preview")) return;
    if (document.contains(link)) return;
    focusResultsHeading();
  });

  // A link htmx fetches into the page and whose address it pushes (a list's pager, Mine and
  // Everyone, a batch's reload switch) is a page of its own: a click with Ctrl or ⌘ opens it in a
  // new tab, with Shift in a new window, as any link's does. htmx took those clicks too and
  // swapped the page in place, the ticks lost. They are stopped on their way down, before htmx's
  // listener on the link; the browser does the rest. (A filter, hx-trigger="click[!ctrlKey]",
  // would need htmx's eval, which base.html's htmx-config turns off: it would always swap.)
  document.addEventListener("click", function (event) {
    if (!(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey)) return;
    var link = event.target.closest && event.target.closest('a[href][hx-get][hx-push-url="true"]');
    if (link) event.stopPropagation();
  }, true);

  function focusResultsHeading() {
    var heading = document.getElementById("results-heading");
    if (!heading) return;
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus();
  }

  function restoreKeptMessage() {
    var message = document.getElementById("message");
    if (!keptMessage || !message) return;
    if (!message.value) {
      message.value = keptMessage;
      // The counter's request carries the form: the new draft keeps the message too.
      message.dispatchEvent(new Event("input", { bubbles: true }));
    }
    keptMessage = "";
  }

  document.addEventListener("keydown", function (event) {
    // A key an input method is composing with (Esc cancelling a Japanese or Chinese word, Enter
    // choosing one) is the input method's: the SMS screen must not close mid-word.
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "Escape") {
      var cancelled = cancelPanelAsked();
      if (closeCompose()) { event.preventDefault(); return; }
      if (cancelled) {
        event.preventDefault();
        announce("The SMS screen was not opened.");
        return;
      }
      toggleHelp(false);
      return;
    }
    // The SMS screen's heading (focused as it opens) is no field, but what is typed there is a
    // message begun before going into one: its j, s or a would act on the list behind the screen
    // (s replacing it with another person's). Within the screen only Esc, / (back to Search) and ?
    // are shortcuts.
    var panel = document.getElementById("compose-panel");
    if (panel && panel.contains(event.target) && event.key !== "?" && event.key !== "/") return;
    if (gridKey(event)) return;
    var plain = !(event.ctrlKey || event.metaKey || event.altKey || event.shiftKey);
    if (plain && event.key === "ArrowDown" && event.target.id === "q") {
      if (enterGrid()) event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = shortcutKey(event);
    if ((key === "j" || key === "k") && enterGrid()) {
      event.preventDefault();
      return;
    }
    if (key === "/") {
      var search = document.getElementById("q");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (key === "a" || key === "b") {
      var control = document.getElementById(key === "a" ? "select-page" : "bulk-sms-button");
      if (!control) return;
      event.preventDefault();
      // While a search (or another page) is on its way, htmx disables the tick boxes and Bulk SMS
      // (hx-disabled-elt on #search and the pager): ticks made now would be for a list about to go.
      if (control.disabled) { explainListLoading(); return; }
      control.click();
      if (key === "a") control.focus();
    } else if (key === "?") {
      event.preventDefault();
      toggleHelp();
    }
  });

  // Back and Forward put a page back from htmx's history cache: its results and SMS panel belong
  // together (nothing to close), but the filter fields hold what they held when the page was first
  // loaded. The URL is the filter the results were made by, so each filter form (lists.html's
  // filter_form: the search, Sent, the Dashboard, the audit log, users, templates) shows that
  // again, and a Bulk SMS from this list is not refused as ticked on another search. A hidden
  // field is the form's own, never the URL's.
  function fillFiltersFromUrl() {
    var params = new URLSearchParams(window.location.search);
    Array.prototype.forEach.call(document.querySelectorAll("form.filters"), function (form) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name || /^(submit|button|hidden|reset)$/.test(field.type)) return;
        var value = params.get(field.name);
        if (field.type === "checkbox") {
          field.checked = value === field.value;
        } else if (field.type === "radio") {
          // Not in the URL: the choice whose value is empty (Sent's Mine), as the server reads it.
          field.checked = value === null ? field.value === "" : value === field.value;
        } else if (field.tagName === "SELECT" && value === null) {
          field.selectedIndex = 0;
        } else {
          field.value = value === null ? "" : value;
        }
      });
    });
  }

  document.addEventListener("focusin", function (event) {
    var table = resultsGrid();
    if (!table || table.getAttribute("role") !== "grid" || !table.contains(event.target)) return;
    if (event.target.matches(CONTROLS) || event.target.matches("td, th")) makeStop(table, event.target);
    clearOfBar(event.target);
  });

  // A search (or another page) still on its way when Back or Forward puts a page back would land
  // late: into results no longer on the page, but pushing its own URL into the address bar and the
  // history all the same (htmx pushes as it swaps; its htmx:beforeSwap fires on the detached
  // results, out of the document's hearing). So the page that goes takes its reading requests
  // with it: only GETs, never a post that changes something (a Send, Send reply, a Privacy
  // change), whose answer would be lost while its change went ahead.
  var onTheirWay = [];  // { elt, xhr }

  document.addEventListener("htmx:beforeSend", function (event) {
    var config = event.detail.requestConfig;
    if (!config || String(config.verb).toLowerCase() !== "get") return;
    // Bar the unread count's: it is every page's, and its answer fills the count where it is now.
    if (event.detail.elt.id === "unread-poll") return;
    var request = { elt: event.detail.elt, xhr: event.detail.xhr };
    onTheirWay.push(request);
    request.xhr.addEventListener("loadend", function () {
      onTheirWay = onTheirWay.filter(function (other) { return other !== request; });
    });
  });

  function abortRequestsOfAPageGone(all) {
    onTheirWay.slice().forEach(function (request) {
      if (all || !document.contains(request.elt)) request.xhr.abort();
    });
  }

  // Not in htmx's history cache: the page is asked for again, and the old one is still there.
  document.addEventListener("htmx:historyCacheMiss", function () { abortRequestsOfAPageGone(true); });

  // A page put back from htmx's history cache (or the browser's) shows the unread count it was
  // saved with: a reply marked read on the page left still counted until the next poll, a minute
  // on. Its poll asks at once, with its own request (both copies of the count follow, as on a
  // poll); a page asked for again, on a cache miss, came with a fresh count.
  function askForUnreadCount() {
    var poll = document.getElementById("unread-poll");
    if (!poll || !window.htmx) return;
    // Its promise fails when the request does (offline, or aborted as the page goes): htmx reports
    // that as for the poll's own; it is no page error.
    window.htmx.ajax("GET", poll.getAttribute("hx-get"), { source: poll, swap: "none" })
      .catch(function () {});
  }

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) askForUnreadCount();
  });

  document.addEventListener("htmx:historyRestore", function (event) {
    abortRequestsOfAPageGone(false);
    shownResults = document.getElementById("results");
    initGrid();
    syncLayout();
    fillFiltersFromUrl();
    updateSelection();  // the count was saved with the page; the ticks may not have been
    saveTicks();
    if (!event.detail.cacheMiss) askForUnreadCount();
  });

  document.addEventListener("DOMContentLoaded", function () {
    shownResults = document.getElementById("results");
    var toggle = document.querySelector(".shortcuts-toggle");
    if (toggle) toggle.hidden = false;
    initGrid();
    restoreTicks();
    updateSelection();
  });

  // --- a form posted once per press --------------------------------------------------------------
  // Enter pressed again on a slow network (or a double click) posted a page's form twice; the
  // browser shows only the second answer, and for an account form the first had already spent
  // the code or the password typed, so the page said it was wrong when it had worked. A form that
  // posts its whole page is not sent again while that post is on its way (htmx forms are left be:
  // htmx prevents their submit before it reaches here, and has hx-disabled-elt). Back from the
  // browser's cache lets it go (pageshow), and so does a while with no new page: an answer that
  // is a download or a 204 leaves this one in place, its form to be sent again. The server also
  // answers a form sent twice (JavaScript off) as the first sending.
  var POST_HELD_MS = 10000;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form || form.tagName !== "FORM") return;
    var submitter = event.submitter;
    var method = (submitter && submitter.getAttribute("formmethod")) || form.getAttribute("method");
    var target = (submitter && submitter.getAttribute("formtarget")) || form.getAttribute("target");
    if ((method || "").toLowerCase() !== "post" || (target && target !== "_self")) return;
    var byHtmx = "[hx-post], [hx-get]";
    if (form.closest(byHtmx) || (submitter && submitter.closest(byHtmx))) return;
    if (form.hasAttribute("data-posting")) { event.preventDefault(); return; }
    form.setAttribute("data-posting", "");
    setTimeout(function () { form.removeAttribute("data-posting"); }, POST_HELD_MS);
  });

  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-posting]"), function (form) {
      form.removeAttribute("data-posting");
    });
  });

  // Back to a page (pages are not kept: it loads again) gets its ticks back from the browser
  // after DOMContentLoaded and load, with no change event: the count is made again, or it would
  // say "0 selected" while Bulk SMS sends everyone still ticked.
  window.addEventListener("pageshow", updateSelection);
})();
