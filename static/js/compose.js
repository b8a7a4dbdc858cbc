// The SMS screen and the template editor: pickers that act on Enter or their button (never on an
// arrow key), merge fields at the cursor, and the draft kept on the server as the user works.
// Every page works without it: the buttons post the form and the server does the same work.
(function () {
  "use strict";

  // --- pickers: Template and Insert merge field ---------------------------------------------

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    if (typeof start !== "number") { start = end = textarea.value.length; }
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    textarea.focus();
    textarea.setSelectionRange(start + text.length, start + text.length);
    // The counter (and with it the draft) follows what was typed.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function insertMergeField(select) {
    var option = select.options[select.selectedIndex];
    var textarea = document.getElementById(select.getAttribute("data-target"));
    if (!option || !option.value || !textarea) return;
    insertAtCursor(textarea, option.getAttribute("data-tag"));
    select.value = "";
  }

  // Enter on a picker presses its button; a closed list's arrow keys only move the highlight.
  // An Enter that ends an input method's composition (keyCode 229) is the input method's own.
  function composing(event) { return event.isComposing || event.keyCode === 229; }

  document.addEventListener("keydown", function (event) {
    var select = event.target;
    if (event.key !== "Enter" || select.tagName !== "SELECT" || !select.hasAttribute("data-commit")) return;
    if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey || composing(event)) return;
    var button = document.getElementById(select.getAttribute("data-commit"));
    if (!button) return;
    event.preventDefault();
    button.click();
  });

  // Enter in a one-line field of the SMS screen (Send at, a reason) or of a record's Quick reply
  // (its reason for ignoring opt-outs) does nothing: without this it would press the form's
  // first button, and Send is a button pressed on purpose. In the template editor it presses the
  // field's own button: Preview in Record id, else Save.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || field.tagName !== "INPUT" || !field.form || composing(event)) return;
    if (/^(submit|button|checkbox|radio)$/.test(field.type)) return;
    if (field.form.id === "compose-form" || field.form.id === "quick-reply") {
      event.preventDefault();
    } else if (field.form.id === "template-form") {
      var own = field.id === "preview_id"
        ? document.getElementById("preview-button")
        : field.form.querySelector("button[name='action'][value='save']");
      if (!own) return;
      event.preventDefault();
      own.click();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-picker]");
    if (!button) return;
    // Inserted here, at the cursor, rather than posted: the server could only append it.
    event.preventDefault();
    var select = document.getElementById(button.getAttribute("data-picker"));
    if (select) insertMergeField(select);
  });

  // A template just put in, or one opened to edit: typing or a merge field carries on at the
  // text's end, not before its first word, whether or not the box has the focus yet.
  function caretToEnd(root) {
    if (!root || !root.querySelectorAll) return;
    Array.prototype.forEach.call(root.querySelectorAll("#message, textarea#body"), function (box) {
      box.setSelectionRange(box.value.length, box.value.length);
    });
  }

  // --- Comment: folded until ticked (CSS :has does it; this serves browsers without it) ----------

  var hasSelector = window.CSS && CSS.supports && CSS.supports("selector(:has(*))");

  function foldComment() {
    if (hasSelector) return;
    var box = document.getElementById("comment");
    var fields = document.getElementById("comment-fields");
    if (box && fields) fields.hidden = !box.checked;
  }

  // --- the draft on the server -----------------------------------------------------------------

  var dirty = false;
  var pendingSave = null;
  var saveTimer = null;

  function composeForm() { return document.getElementById("compose-form"); }

  function save() {
    var form = composeForm();
    clearTimeout(saveTimer);
    if (!form || !form.getAttribute("data-save")) return;
    dirty = false;
    var request;
    try {
      // keepalive: the save survives the page going away (a reload, a link followed).
      request = fetch(form.getAttribute("data-save"), {
        method: "POST", body: new FormData(form), credentials: "same-origin", keepalive: true
      });
    } catch (error) {
      request = fetch(form.getAttribute("data-save"), {
        method: "POST", body: new FormData(form), credentials: "same-origin"
      });
    }
    var done = function () { if (pendingSave === saving) pendingSave = null; };
    var saving = request.then(done, done);
    pendingSave = saving;
  }

  function flush() { if (dirty) save(); }

  // Kept as they change: the Comment fields and Ignore's reason. The Message rides on the counter's
  // requests, Ignore redraws the screen, and the pickers change nothing until committed.
  var KEPT = { comment: true, comment_type: true, comment_text: true, ignore_reason: true };

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target.closest || !target.closest("#compose-form")) return;
    dirty = true;
    if (KEPT[target.id]) {
      clearTimeout(saveTimer);
      saveTimer = setTimeout(save, 800);
    }
    // A Send at typed runs the counter, as typing the Message does (its delay lets the segments
    // be typed): its answer redraws the quiet-hours note for that time, and the draft keeps it.
    // A half-typed one posts empty: it waits until it names a time.
    if (target.id === "send_at" && !target.validity.badInput) {
      var message = document.getElementById("message");
      if (message) message.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.closest || !target.closest("#compose-form")) return;
    if (target.id === "comment") foldComment();
    if (target.hasAttribute("data-commit")) return;
    dirty = true;
    if (KEPT[target.id]) save();
  });

  // A request from the screen carries the whole form, and the server keeps it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    if (verb === "post" && elt && elt.closest && elt.closest("#compose-form")) dirty = false;
  });

  // Closing the screen (Esc, Cancel, a new list, another Bulk SMS) keeps what was typed first.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !composing(event) && composeForm()) flush();
  }, true);
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".compose-cancel")) flush();
  }, true);
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!(target && target.closest && target.closest("#compose"))) flush();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush();
  });

  // A reload or a link followed: the page's next request can reach the server before the save
  // sent on the way out, so the typed text also waits in this tab's storage, and comes back
  // once the same screen is shown again (its save then brings the draft up to date).
  var TEXTS = ["message", "comment_text", "ignore_reason"];

  function storageKey(form) { return "sms-desk-screen:" + form.getAttribute("data-save"); }

  function leaving() {
    var form = composeForm();
    if (!form || !form.getAttribute("data-save")) return;
    var texts = {};
    TEXTS.forEach(function (id) {
      var field = document.getElementById(id);
      if (field) texts[id] = field.value;
    });
    try { sessionStorage.setItem(storageKey(form), JSON.stringify(texts)); } catch (error) { /* full or off */ }
    flush();
  }

  function comeBack() {
    var form = composeForm();
    if (!form || !form.getAttribute("data-save")) return;
    var stored = null;
    try {
      stored = JSON.parse(sessionStorage.getItem(storageKey(form)) || "null");
      sessionStorage.removeItem(storageKey(form));
    } catch (error) { return; }
    if (!stored) return;
    var changed = false;
    TEXTS.forEach(function (id) {
      var field = document.getElementById(id);
      if (field && typeof stored[id] === "string" && field.value !== stored[id]) {
        field.value = stored[id];
        changed = true;
      }
    });
    if (!changed) return;
    var message = document.getElementById("message");
    // The counter's request carries the whole form: the draft is brought up to date with it.
    if (message) message.dispatchEvent(new Event("input", { bubbles: true }));
    dirty = true;
    save();
  }

  window.addEventListener("beforeunload", leaving);
  window.addEventListener("pagehide", leaving);

  // A request sent while a save is on its way waits for it: Bulk SMS right after Esc must find
  // the draft with its text.
  // (One shortcuts.js held back, a date still being typed, stays held back.)
  document.addEventListener("htmx:confirm", function (event) {
    if (!pendingSave || event.defaultPrevented) return;
    event.preventDefault();
    pendingSave.then(function () { event.detail.issueRequest(true); });
  });

  // --- a Send at typed in part -----------------------------------------------------------------
  // Typed without its AM/PM, the field posts as empty, which sends now. The browser keeps the
  // form from being submitted; htmx's own posts from its buttons (Preview) and the redraws its
  // tick boxes ask for (Ignore, Commercial) would save or bring the field back empty just the
  // same, so they wait too: a tick is taken back and the browser points at the field.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var sendAt = document.getElementById("send_at");
    if (!sendAt || !sendAt.validity.badInput) return;
    var target = event.detail.target;
    var elt = event.detail.elt;
    var button = elt && elt.tagName === "BUTTON" && elt.form === sendAt.form;
    if (!button && !(target && target.id === "compose")) return;
    event.preventDefault();
    if (elt.type === "checkbox") elt.checked = !elt.checked;
    sendAt.reportValidity();
  });

  // --- typing while a redraw is on its way ---------------------------------------------------
  // A redraw of the SMS screen (Commercial, Ignore, Remove), a Quick reply's send or a Privacy
  // save (which brings the Quick reply back out of band) replaces the fields with the server's
  // copy of what the request took: what was typed, ticked or chosen after it left would go with
  // them (a Send at typed meanwhile lost would send the SMS now), and the focus to the redraw's
  // own [autofocus]. Both are put back.

  var SCREEN_TEXTS = ["message", "comment_text", "ignore_reason", "send_at"];
  // Choices the redraw does not make itself (Commercial and Ignore ask for it: theirs is the
  // server's answer).
  var SCREEN_CHOICES = ["comment", "comment_type"];
  var SCREEN_FIELDS = SCREEN_TEXTS.concat(SCREEN_CHOICES);
  var screenSent = null;  // the screen's fields as a redraw's request took them, and the focus
  var screenTyped = null;  // what was changed since, kept over the redraw, and where the focus is
  var replySent = null;  // the Quick reply as its send (or a Privacy save) took it
  var replyTyped = null;
  // The Quick reply's other text a Privacy save draws again as it took it (the box has its own).
  var REPLY_TEXTS = ["quick-reply-reason"];
  var replyOthersSent = null;
  var replyOthersTyped = null;
  var privacyLeft = null;  // what had the focus when a Privacy save left
  var privacyFocus = null;  // where the user went while it was out
  var privacyAfterSend = false;  // that save left while a Quick reply was sending
  // A Quick reply's send: what had the focus when it left, and where the user is when it
  // answers. Its answer focuses the box ([autofocus]) for a user still at Send reply; one who
  // has gone on since (a history tab, Save Privacy) stays there.
  var sendLeft = null;
  var sendStay = null;
  var privacyAnswerFocus = null;  // what that answer focused while a save pressed after it was out

  function valueOf(field) { return field.type === "checkbox" ? field.checked : field.value; }

  function valuesOf(ids) {
    var values = {};
    ids.forEach(function (id) {
      var field = document.getElementById(id);
      if (field) values[id] = valueOf(field);
    });
    return values;
  }

  function focusedId() {
    var active = document.activeElement;
    return active && active !== document.body ? active.id : "";
  }

  function caretOf(field) {
    // Only a field with a caret: a tick box's selectionStart is null.
    return document.activeElement === field && typeof field.selectionStart === "number"
      ? { start: field.selectionStart, end: field.selectionEnd } : null;
  }

  function putBack(field, value, caret) {
    if (field.type === "checkbox") {
      field.checked = value;
      // Its folding (Comment) and the draft follow, as after a tick by hand.
      field.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    field.value = value;
    if (caret) {
      field.focus();
      field.setSelectionRange(caret.start, caret.end);
    }
    // The counter (and with it the draft) follows, as after any typing.
    field.dispatchEvent(new Event("input", { bubbles: true }));
    if (field.tagName === "SELECT") field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // A history tab pressed: the Quick reply comes back on it from now on, though the tab's answer
  // (which brings the form's tab field) has not come. A reply sent before it came redrew the old
  // tab's thread, while the tab's late answer put the new tab in the address.
  // The other way about, a tab pressed while a Quick reply is sending: the reply's answer draws
  // the whole history again, on the tab it was sent from. The tab's answer coming after it was
  // for a thread no longer in the page: htmx dropped it, bar the address (?tab=received over
  // All). It is drawn into the thread the page holds now; an older tab's is dropped whole. A
  // tab's answer that came before the reply's is asked for again once the reply's is drawn.
  var lastTab = null;  // the tab pressed last: its name and request, and whether it answered
  var sendSawTab = null;  // lastTab as the Quick reply's send left

  function currentTab() {
    var field = document.querySelector("input[name='tab'][form='quick-reply']");
    return field ? field.value : "";
  }

  // Told on the tab's link (htmx tells it before it reads the target), which may have left the
  // page with the history it was drawn in.
  function tabAnswered(event) {
    var detail = event.detail;
    var latest = lastTab && lastTab.xhr === detail.xhr;
    if (latest) lastTab.landed = true;
    if (!detail.target || detail.target.isConnected) return;
    var conversation = document.getElementById("conversation");
    if (latest && conversation) {
      detail.target = conversation;
    } else {
      event.preventDefault();  // neither its thread nor its address: a later tab's are shown
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var tab = /^history-tab-(\w+)$/.exec(elt.id || "");
    if (!tab) return;
    var field = document.querySelector("input[name='tab'][form='quick-reply']");
    if (field) field.value = tab[1];
    lastTab = { name: tab[1], xhr: event.detail.xhr, landed: false };
    if (!elt.smsTabAnswered) {
      elt.smsTabAnswered = true;
      elt.addEventListener("htmx:beforeOnLoad", tabAnswered);
    }
  });

  function keepLastTab() {
    var tab = lastTab;
    var pressedSince = tab && tab !== sendSawTab;
    sendSawTab = null;
    // Not yet answered: its answer lands in this thread (tabAnswered).
    if (!pressedSince || !tab.landed || currentTab() === tab.name) return;
    var link = document.getElementById("history-tab-" + tab.name);
    if (!link) return;
    // As the tab asks (a refresh due meanwhile waits for it), with no new history entry: the
    // address says it already.
    htmx.ajax("GET", link.getAttribute("hx-get"), {
      source: link, target: "#conversation", swap: "outerHTML", push: "false"
    });
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "compose") {
      screenSent = { values: valuesOf(SCREEN_FIELDS), focus: focusedId() };
    } else if ((target.id === "history" && event.detail.elt.id === "quick-reply") ||
               target.id === "privacy") {
      var box = document.getElementById("quick-reply-message");
      replySent = box ? { value: box.value, privacy: target.id === "privacy" } : null;
      if (target.id === "privacy") {
        privacyLeft = document.activeElement;
        privacyAfterSend = sendLeft !== null;
        replyOthersSent = valuesOf(REPLY_TEXTS);
      } else {
        sendLeft = document.activeElement;
        sendSawTab = lastTab;
      }
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "compose" && screenSent) {
      var sent = screenSent.values;
      var fields = {};
      SCREEN_FIELDS.forEach(function (id) {
        var field = document.getElementById(id);
        if (field && id in sent && valueOf(field) !== sent[id]) {
          fields[id] = { value: valueOf(field), sent: sent[id], caret: caretOf(field) };
        }
      });
      // Moved on since the request left (Tab to Comment, say): the focus goes back there.
      var focus = focusedId();
      screenTyped = { fields: fields, focus: focus !== screenSent.focus ? focus : "" };
      screenSent = null;
    }
    if (target.id === "history" && sendLeft !== null) {
      // Disabled while out, Send reply (and Save Privacy) hands the focus to the page's body.
      var now = document.activeElement;
      if (!now || now === document.body) {
        sendStay = privacyLeft && privacyAfterSend ? { privacy: true } : null;
      } else {
        sendStay = now !== sendLeft ? { elt: now, id: now.id } : null;
      }
      sendLeft = null;
    }
    if ((target.id === "history" || target.id === "privacy") && replySent !== null) {
      var box = document.getElementById("quick-reply-message");
      replyTyped = box && box.value !== replySent.value
        ? { value: box.value, sent: replySent.value, caret: caretOf(box), privacy: replySent.privacy }
        : null;
      replySent = null;
    }
    if (target.id === "privacy" && replyOthersSent) {
      replyOthersTyped = {};
      REPLY_TEXTS.forEach(function (id) {
        var field = document.getElementById(id);
        if (field && id in replyOthersSent && field.value !== replyOthersSent[id]) {
          replyOthersTyped[id] = { value: field.value, sent: replyOthersSent[id], caret: caretOf(field) };
        }
      });
      replyOthersSent = null;
    }
    if (target.id === "privacy") {
      // Moved on since the save left (into the Quick reply, say): the focus stays there, not on
      // the Save Privacy the answer focuses for a user still on it.
      var active = document.activeElement;
      privacyFocus = active && active !== document.body && active !== privacyLeft &&
        active !== privacyAnswerFocus
        ? { elt: active, id: active.id, caret: caretOf(active) } : null;
      privacyLeft = null;
      privacyAfterSend = false;
      privacyAnswerFocus = null;
    }
  });

  function keepScreenTyping() {
    var typed = screenTyped;
    screenTyped = null;
    if (!typed) return;
    var fields = typed.fields;
    var ask = false;
    Object.keys(fields).forEach(function (id) {
      var field = document.getElementById(id);
      if (!field) return;
      if (valueOf(field) === fields[id].sent) {
        // Only over what the request took.
        putBack(field, fields[id].value, fields[id].caret);
      } else if (id === "message" && valueOf(field) !== fields[id].value) {
        // A template's text put in (Use template, Replace) over text typed while it was on its
        // way: the typed text stays, and the template asks before it replaces it, as it asks
        // when the text was typed first.
        putBack(field, fields[id].value, fields[id].caret);
        ask = true;
      }
    });
    var use = ask && document.getElementById("use-template");
    var chosen = document.getElementById("template_id");
    if (use && chosen && chosen.value) {
      use.click();
      return;  // its answer (the question) has the focus
    }
    // Not over a refusal or a question (Replace the typed text?), whose own focus is on it.
    var compose = document.getElementById("compose");
    var refused = compose && compose.querySelector(
      "[aria-invalid='true'], [role='alert'], #template-question");
    var moved = typed.focus && document.getElementById(typed.focus);
    if (moved && !refused && !(fields[typed.focus] && fields[typed.focus].caret)) moved.focus();
  }

  function keepReplyTyping() {
    var typed = replyTyped;
    replyTyped = null;
    var box = document.getElementById("quick-reply-message");
    if (!typed || !box) return;
    var text = typed.value;
    if (typed.privacy) {
      // Drawn again as the save took it: what was typed since goes back over it, caret and all.
      if (box.value === typed.sent) putBack(box, text, typed.caret);
      return;
    }
    if (box.value === "") {
      // Sent: what was added after the sent text is the start of the next reply. Text changed
      // within what was sent is not put back: a second Send reply would send that again.
      if (text.indexOf(typed.sent) !== 0) return;
      text = text.slice(typed.sent.length).replace(/^\s+/, "");
    } else if (box.value !== typed.sent) {
      return;
    }
    var caret = typed.caret && { start: text.length, end: text.length };
    putBack(box, text, caret);
  }

  function keepSendFocus() {
    var stay = sendStay;
    sendStay = null;
    if (privacyLeft) {
      // A Privacy save still out draws the Quick reply again: as this answer drew it (the server
      // draws a sent reply's form afresh), with what is typed in it meanwhile put back over it.
      var box = document.getElementById("quick-reply-message");
      replySent = box ? { value: box.value, privacy: true } : null;
    }
    if (!stay) return;
    // Not over a refusal, whose own focus is on what it asks for.
    var form = document.getElementById("quick-reply");
    if (form && form.querySelector("[aria-invalid='true'], .error[autofocus], #quick-reply-held")) return;
    if (stay.privacy) {
      // Save Privacy pressed since, disabled until its answer focuses it. The box this answer
      // focused is not where the user went: the save's answer takes the focus from it. (Not
      // blurred now: the browser's own autofocus would put it back there.)
      privacyAnswerFocus = document.activeElement;
      return;
    }
    // The element itself when the answer left it in place, else its copy drawn again (a tab).
    var elt = stay.elt.isConnected ? stay.elt : stay.id && document.getElementById(stay.id);
    if (elt && elt !== document.activeElement && elt.id !== "quick-reply-message") elt.focus();
  }

  function keepReplyOthers() {
    var typed = replyOthersTyped;
    replyOthersTyped = null;
    if (!typed) return;
    Object.keys(typed).forEach(function (id) {
      var field = document.getElementById(id);
      if (field && field.value === typed[id].sent) putBack(field, typed[id].value, typed[id].caret);
    });
  }

  function keepPrivacyFocus() {
    var was = privacyFocus;
    privacyFocus = null;
    if (!was) return;
    // Not over a refusal (the reason needed to tick SMS again, a conflict), whose own focus is
    // on what it asks for.
    var privacy = document.getElementById("privacy");
    if (privacy && privacy.querySelector("[aria-invalid='true'], [role='alert']")) return;
    // The element itself when the save left it in place, else its copy drawn again (the Quick
    // reply's box, a Privacy box).
    var elt = was.elt.isConnected ? was.elt : was.id && document.getElementById(was.id);
    if (!elt || elt === document.activeElement) return;
    elt.focus();
    if (was.caret) elt.setSelectionRange(was.caret.start, was.caret.end);
  }

  // A template's Preview (on its edit page) redraws the preview box, Record id in it, and the
  // counter (counted for that person); so do the SMS screen's Preview, Next and Previous
  // recipient. A record id typed meanwhile is put back, and so is the focus (the preview's
  // heading takes it otherwise); a counter request for later typing may have been drawn over, so
  // the Message is counted again whenever it changed since the Preview left.
  var previewTyped = null;  // what changed since the Preview whose answer came last left

  function messageBox() {
    return document.getElementById("body") || document.getElementById("message");
  }

  function drawsPreview(detail) {
    var elt = detail.elt;
    return (detail.target && detail.target.id === "preview") ||
      !!(elt && elt.tagName === "BUTTON" && elt.closest("#compose-form") &&
         /\/preview$/.test(elt.getAttribute("hx-post") || ""));
  }

  // Kept on the request, and read as its answer comes (not on htmx's events, which fire on the
  // target the request took: a redraw of the screen meanwhile takes it from the page).
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!drawsPreview(event.detail)) return;
    var xhr = event.detail.xhr;
    var body = messageBox();
    var id = document.getElementById("preview_id");
    var sent = { body: body ? body.value : null, id: id ? id.value : null, focus: focusedId() };
    xhr.addEventListener("readystatechange", function () {
      if (xhr.readyState !== 4) return;
      var idNow = document.getElementById("preview_id");
      var focus = focusedId();
      previewTyped = {
        sent: sent,
        id: idNow && idNow.value !== sent.id ? { value: idNow.value, caret: caretOf(idNow) } : null,
        focus: focus !== sent.focus ? focus : "",
        caret: document.activeElement ? caretOf(document.activeElement) : null,
        order: xhr.smsOrder
      };
    });
  });

  function keepPreviewTyping(preview) {
    var typed = previewTyped;
    // Only for the preview that answer drew: one drawn over it kept what is there now.
    if (!typed || preview.smsDrawnBy !== typed.order) return;
    previewTyped = null;
    var id = document.getElementById("preview_id");
    if (typed.id && id && id.value === typed.sent.id) putBack(id, typed.id.value, typed.id.caret);
    var body = messageBox();
    if (body && typed.sent.body !== null && body.value !== typed.sent.body) {
      body.dispatchEvent(new Event("input", { bubbles: true }));
    }
    // Moved on since the Preview left (back to the Message, say): the focus stays there, not on
    // the preview's heading.
    var moved = typed.focus && document.getElementById(typed.focus);
    if (moved && !(typed.id && typed.id.caret && typed.focus === "preview_id")) {
      moved.focus();
      if (typed.caret) moved.setSelectionRange(typed.caret.start, typed.caret.end);
    }
  }

  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "preview") keepPreviewTyping(elt);
    if (elt && (elt.id === "compose" || elt.id === "message-field")) {
      dirty = false;
      comeBack();
      caretToEnd(elt);
      foldComment();
      if (elt.id === "compose") keepScreenTyping();
    } else if (elt && elt.id === "history") {
      keepReplyTyping();
      keepSendFocus();
      keepLastTab();
    } else if (elt && elt.id === "privacy") {
      keepReplyTyping();
      keepReplyOthers();
      keepPrivacyFocus();
    }
  });

  // A template's For changed redraws the merge-field picker with the fields those people have. A
  // field chosen in the old picker while the answer was on its way stays chosen when the new
  // one offers it too (Enter then inserts it, not nothing), and the focus stays on the picker.
  var pickerChosen = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "merge-field-block" || !event.detail.shouldSwap) return;
    var picker = document.getElementById("merge_field");
    pickerChosen = picker
      ? { value: picker.value, focused: document.activeElement === picker }
      : null;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "merge-field-block") return;
    var chosen = pickerChosen;
    pickerChosen = null;
    var picker = document.getElementById("merge_field");
    if (!chosen || !picker) return;
    if (chosen.value && picker.querySelector("option[value='" + CSS.escape(chosen.value) + "']")) {
      picker.value = chosen.value;
    }
    if (chosen.focused && document.activeElement !== picker) picker.focus();
  });


  // --- answers that cross on the way back ----------------------------------------------------
  // The counter's answer draws the preview again (and the totals, the quiet-hours note and the
  // opt-out line); Preview's, Next or Previous recipient's draws the counter again. All of them
  // are drawn out of band, into the part the page holds when the answer comes: a target taken
  // when the request left may have been drawn again since, and htmx drops an answer for a target
  // no longer in the page (Next did nothing). On a slow network the answers cross: an older one
  // arriving last drew a count of text no longer typed, or the preview back one recipient. So
  // each part remembers the request that drew it, and the preview the one that chose its
  // recipient (Preview, Next, Previous): an answer draws only what no later request has drawn.
  // (A template's counter draws only its preview's result, #preview-result: Record id beside it
  // is the user's to type in meanwhile.)
  var CROSSING = ["preview", "preview-result", "sms-counter", "send-totals", "quiet-hours-note",
    "opt-out-line"];
  var requestsMade = 0;
  var answering = null;  // the request whose answer htmx is drawing now
  var recipientChosenBy = null;  // for a counter's preview: the request that chose its recipient
  var countAgain = false;  // the preview drawn shows older text than the page had

  function stamp(part, key) { return part[key] || 0; }

  function drawnByNone() {
    CROSSING.forEach(function (id) {
      var part = document.getElementById(id);
      if (part) part.smsDrawnBy = part.smsChosenBy = 0;
    });
  }

  document.addEventListener("DOMContentLoaded", drawnByNone);
  document.addEventListener("htmx:historyRestore", drawnByNone);

  document.addEventListener("htmx:beforeRequest", function (event) {
    var xhr = event.detail.xhr;
    xhr.smsOrder = ++requestsMade;
    xhr.smsCounts = event.detail.elt.id === "message";
    // The counter posts the recipient this preview shows.
    xhr.smsPreview = document.getElementById("preview");
    // Which answer htmx draws, told by the request: htmx's own events fire on the request's
    // target, and one that a redraw took from the page tells the page nothing.
    xhr.addEventListener("readystatechange", function () {
      if (xhr.readyState !== 4) return;
      answering = xhr;
      recipientChosenBy = null;
      countAgain = false;
    });
  });

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var detail = event.detail;
    var part = detail.target;
    if (!answering || !part || CROSSING.indexOf(part.id) < 0) return;
    var mine = answering.smsOrder;
    if (part.id !== "preview") {
      if (stamp(part, "smsDrawnBy") > mine) detail.shouldSwap = false;
    } else if (answering.smsCounts) {
      // The counter's answer shows the recipient the preview showed when the counter left. If
      // the preview was drawn since (Next), it is counted again for the recipient it shows now.
      if (answering.smsPreview === part) {
        recipientChosenBy = stamp(part, "smsChosenBy");
      } else {
        detail.shouldSwap = false;
        countAgain = true;
      }
    } else if (stamp(part, "smsChosenBy") > mine) {
      detail.shouldSwap = false;  // a later Next or Previous chose the recipient shown
    } else if (stamp(part, "smsDrawnBy") > mine) {
      countAgain = true;  // text typed after this one left: counted again for this recipient
    }
  });

  // Parts new to the page were drawn by the answer just drawn.
  document.addEventListener("htmx:afterSwap", function () {
    if (!answering) return;
    var mine = answering.smsOrder;
    CROSSING.forEach(function (id) {
      var part = document.getElementById(id);
      if (!part || part.smsDrawnBy !== undefined) return;
      part.smsDrawnBy = mine;
      part.smsChosenBy = recipientChosenBy === null ? mine : recipientChosenBy;
    });
    // Once for each answer (htmx tells each part it drew): a page put back from history later
    // is drawn by no request.
    answering = null;
    if (countAgain) {
      countAgain = false;
      var message = messageBox();
      if (message) message.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });


  // --- Back or Forward between a record's tabs ------------------------------------------------
  // A record is kept out of htmx's history cache (hx-history="false"): Back after a tab fetches
  // the page again, and its Quick reply came back empty. What was typed in it is put back once
  // the same record's Quick reply is drawn again as the server drew it. It waits in this script,
  // not in the tab's storage: the document stays the same while htmx fetches the page.
  var REPLY_BACK = ["quick-reply-message", "quick-reply-reason"];
  var replyBack = null;

  document.addEventListener("htmx:historyCacheMiss", function () {
    var form = document.getElementById("quick-reply");
    replyBack = null;
    // Not while a Send reply is out (its button disabled by htmx): that text is on its way, and
    // put back on a fresh page (a new reply token) a second press would send it again.
    if (!form || form.querySelector("[data-disabled-by-htmx]")) return;
    var texts = {};
    REPLY_BACK.forEach(function (id) {
      var field = document.getElementById(id);
      if (field && field.value) texts[id] = field.value;
    });
    if (Object.keys(texts).length) replyBack = { form: form.getAttribute("action"), texts: texts };
  });

  document.addEventListener("htmx:historyCacheMissLoadError", function () {
    replyBack = null;
  });

  document.addEventListener("htmx:historyRestore", function () {
    var kept = replyBack;
    replyBack = null;
    var form = document.getElementById("quick-reply");
    if (!kept || !form || form.getAttribute("action") !== kept.form) return;
    Object.keys(kept.texts).forEach(function (id) {
      var field = document.getElementById(id);
      if (!field || field.value !== field.defaultValue || field.value === kept.texts[id]) return;
      field.value = kept.texts[id];
      // Its counter follows, as after any typing.
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });

  // --- the batch page's progress ----------------------------------------------------------------
  // Each poll replaces #progress, and htmx gives the focus back to the element of the same id. A
  // link no longer drawn (a state whose count fell to 0: "queued 60" once they went) has none, so
  // the focus fell to the page and the next Tab to "Skip to content". It goes to the section's
  // heading instead, and Tab goes on through the new section.
  var progressHadFocus = false;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "progress") progressHadFocus = target.contains(document.activeElement);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.target || event.target.id !== "progress") return;
    var had = progressHadFocus;
    progressHadFocus = false;
    var active = document.activeElement;
    if (!had || (active && active !== document.body && document.contains(active))) return;
    var heading = document.getElementById("progress-heading");
    if (heading) heading.focus();
  });

  // --- a list marked in, after another list was chosen ----------------------------------------
  // Mark read (or unread) on the Replies page draws the list it was pressed in again, its tabs
  // and its address with it. A tab pressed while the mark was out replaces that list, and the
  // mark's answer, coming after, drew its tabs and address over the list chosen since (Mine
  // current over Everyone's list). Its answer is dropped then (the mark is made all the same,
  // not aborted), and the list shown is asked for again if it shows that reply as before it.
  function markAnswered(event) {
    var target = event.detail.target;
    if (!target || target.isConnected) return;
    event.preventDefault();
    var row = event.currentTarget.closest("tr[id]");
    var shown = row && document.getElementById(row.id);
    var list = document.getElementById(target.id);
    if (!shown || !list || !list.contains(shown)) return;
    if (shown.classList.contains("unread") !== row.classList.contains("unread")) return;
    htmx.ajax("GET", location.pathname + location.search, { target: "#" + target.id, swap: "outerHTML" });
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt.hasAttribute || !elt.hasAttribute("data-mark") || elt.smsMarkAnswered) return;
    elt.smsMarkAnswered = true;
    // Told on the form (htmx tells it before it reads the target), gone with its list.
    elt.addEventListener("htmx:beforeOnLoad", markAnswered);
  });

  // --- what was typed when the session ended ---------------------------------------------------
  // A session that ends while a page is open (idle too long, signed out in another tab) sends the
  // page to the sign-in page at its next request (a counter as the user types, the unread count's
  // poll) or refuses its form ("You are signed out"), and what was typed went with it. It waits in
  // this tab's storage instead, through the pages on the way back (signing in, the refusal), and
  // is put back when the same page opens again. (The SMS screen keeps its own, above.)

  var TYPED = "sms-desk-typed";
  var SIGN_IN_STEPS = /^\/(login|login\/code|profile\/password|profile\/two-factor)$/;
  var TEXT_TYPES = /^(text|email|tel|url|search|number)$/;
  // The values a form was opened with (webapp/web/edit_merge's `loaded`, the Privacy boxes'
  // was_): the changes put back are the user's over what they opened, not over what is stored
  // now, so a colleague's save since is refused as a clash (409), as for two tabs, not undone.
  // No other hidden field: the CSRF token is the old session's, and a once-only form token is
  // the fresh page's own (the post refused never used the old one).
  var AS_OPENED = /^(loaded|was_.+)$/;

  function here() { return location.pathname + location.search; }

  // Who is signed in on this page (the header's Sign out form says): typing is put back only for
  // the same user, never for the next person to sign in at a shared computer.
  function signedIn() {
    var form = document.querySelector("form.signout[data-user]");
    return form ? form.getAttribute("data-user") : null;
  }

  function onTheWay() {
    return SIGN_IN_STEPS.test(location.pathname) || !!document.querySelector("[data-keep-typed]");
  }

  // The SMS screen keeps its own; a list's ticks (Bulk SMS's, and the rows' it takes from
  // outside) belong to the rows as drawn, which another search or page clears.
  function keptForms(forms) {
    return forms.filter(function (form) {
      return form.id !== "compose-form" && form.id !== "bulk-sms" &&
        (form.getAttribute("method") || "").toLowerCase() === "post";
    });
  }

  // Ticks, radios and lists come back with the text: a template's For and Commercial are as much
  // the user's work as its Message. Not a picker's choice, which acts on its button alone.
  function kindOf(field) {
    if (field.tagName === "TEXTAREA") return "text";
    if (field.tagName === "SELECT") {
      return field.multiple || field.hasAttribute("data-commit") ? null : "select";
    }
    if (field.tagName !== "INPUT") return null;
    if (TEXT_TYPES.test(field.type)) return "text";
    if (/^(checkbox|radio)$/.test(field.type)) return field.hasAttribute("form") ? null : "choice";
    return field.type === "hidden" && AS_OPENED.test(field.name) ? "opened" : null;
  }

  // A field without an id (the Roles page's `loaded`, a list of ticks) by its form and name.
  function keyOf(form, field) {
    if (field.id) return field.id;
    if (!field.name) return null;
    return (form.getAttribute("action") || "") + " " + field.name +
      (field.type === "checkbox" || field.type === "radio" ? "=" + field.value : "");
  }

  function eachField(forms, visit) {
    keptForms(forms).forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (field) {
        var kind = kindOf(field);
        var key = kind && keyOf(form, field);
        if (key) visit(form, field, kind, key);
      });
    });
  }

  function currentOf(field, kind) { return kind === "choice" ? field.checked : field.value; }

  // As the server drew it.
  function drawnOf(field, kind) {
    if (kind === "choice") return field.defaultChecked;
    if (kind !== "select") return field.defaultValue;
    for (var i = 0; i < field.options.length; i++) {
      if (field.options[i].defaultSelected) return field.options[i].value;
    }
    return field.options.length ? field.options[0].value : "";
  }

  function keepTyped(forms, how) {
    if (onTheWay() || !signedIn()) return;
    var fields = {};
    var focus = null;
    keptForms(forms).forEach(function (form) {
      var opened = {};
      var changed = null;
      eachField([form], function (_, field, kind, key) {
        var value = currentOf(field, kind);
        if (kind === "opened") {
          opened[key] = { kind: kind, value: value };
        } else if (value !== drawnOf(field, kind)) {
          changed = changed || {};
          changed[key] = { kind: kind, value: value };
          if (field === document.activeElement) focus = key;
        }
      });
      // A form's loaded values only with changes of its own to put back over them.
      if (!changed) return;
      [opened, changed].forEach(function (some) {
        Object.keys(some).forEach(function (key) { fields[key] = some[key]; });
      });
    });
    try {
      if (Object.keys(fields).length) {
        sessionStorage.setItem(TYPED, JSON.stringify({
          page: here(), user: signedIn(), how: how, fields: fields, focus: focus
        }));
      } else {
        sessionStorage.removeItem(TYPED);
      }
    } catch (error) { /* full or off */ }
  }

  // An htmx request answered with a move to the sign-in page (401 and HX-Redirect), or with a
  // reload for a fresh form token (400 and HX-Refresh).
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    if ((xhr.status === 401 && xhr.getResponseHeader("HX-Redirect")) ||
        xhr.getResponseHeader("HX-Refresh") === "true") {
      keepTyped(Array.prototype.slice.call(document.forms), "kept");
    }
  });

  // A form posted without htmx (htmx prevents the default of its own): kept until the next page
  // shows whether it was taken.
  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented && event.target.tagName === "FORM") keepTyped([event.target], "sent");
  });

  function fits(field, kind, value) {
    if (kind === "choice") return typeof value === "boolean";
    if (typeof value !== "string") return false;
    return kind !== "select" || Array.prototype.some.call(field.options, function (option) {
      return option.value === value;
    });
  }

  function putBackTyped() {
    var kept = null;
    try {
      kept = JSON.parse(sessionStorage.getItem(TYPED) || "null");
      if (!kept) return;
      if (onTheWay()) {
        // Signing in again, or told the form was refused: the page it belongs to comes next.
        kept.how = "kept";
        sessionStorage.setItem(TYPED, JSON.stringify(kept));
        return;
      }
      sessionStorage.removeItem(TYPED);
    } catch (error) { return; }
    // Any other page (the post was taken, or refused on its own page): drawn as the server drew it.
    if (kept.how !== "kept" || kept.page !== here() || kept.user !== signedIn() || !kept.fields) return;
    var back = [];
    var forms = [];
    var opened = [];
    eachField(Array.prototype.slice.call(document.forms), function (form, field, kind, key) {
      var entry = kept.fields[key];
      if (!entry || entry.kind !== kind || !fits(field, kind, entry.value)) return;
      if (kind === "opened") {
        opened.push({ form: form, field: field, value: entry.value });
      } else if (currentOf(field, kind) === drawnOf(field, kind)) {
        // Only over what the server drew, not over what the browser filled in itself.
        back.push({ field: field, kind: kind, value: entry.value, key: key });
        if (forms.indexOf(form) < 0) forms.push(form);
      }
    });
    if (!back.length) return;
    // First, so that any request a change below sends carries them.
    opened.forEach(function (one) {
      if (forms.indexOf(one.form) >= 0) one.field.value = one.value;
    });
    var first = null;
    var was = null;
    back.forEach(function (one) {
      var field = one.field;
      if (one.kind === "choice") {
        field.checked = one.value;
      } else {
        field.value = one.value;
      }
      // What follows a change by hand (the counter, the merge fields For offers) follows.
      field.dispatchEvent(new Event(one.kind === "text" ? "input" : "change", { bubbles: true }));
      if (one.key === kept.focus) was = field;
      if (one.kind === "text") first = first || field;
    });
    // Typing carries on where it stopped; else in the first text put back.
    if (was && currentOf(was, kindOf(was)) === kept.fields[kept.focus].value) first = was;
    first = first || back[0].field;
    first.focus();
    try { first.setSelectionRange(first.value.length, first.value.length); } catch (error) { /* not text */ }
    var status = document.getElementById("live-status");
    if (status) status.textContent = "What you typed is back: check it, then carry on.";
  }

  document.addEventListener("DOMContentLoaded", function () {
    comeBack();
    caretToEnd(document);
    foldComment();
    putBackTyped();
  });
})();
