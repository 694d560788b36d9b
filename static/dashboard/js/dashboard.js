// Progressive enhancements for the dashboard. Every page works without this file.
(function () {
  "use strict";

  // The page's words for what this script writes, in the page's language (templates/base.html).
  var wordsElement = document.getElementById("dashboard-words");
  function word(name, value) {
    var text = (wordsElement && wordsElement.getAttribute("data-" + name)) || name;
    return value === undefined ? text : text.replace(/\{[a-z]+\}/, value);
  }

  // The language menu at the foot of every page applies the choice at once (its button does without script).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });

  function jtiOf(statement) {
    // Read the jti claim so the user can match the copy with the statement history.
    try {
      var payload = statement.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (payload.length % 4) payload += "=";
      return JSON.parse(atob(payload)).jti || "";
    } catch (error) {
      return "";
    }
  }

  function showStatus(target, kind, text) {
    target.className = "notice notice-" + kind;
    target.textContent = text;
    target.hidden = false;
  }

  function showForManualCopy(container, statement) {
    var label = document.createElement("label");
    label.className = "field-label";
    label.htmlFor = "statement-text";
    label.textContent = word("statement-label");
    var area = document.createElement("textarea");
    area.id = "statement-text";
    area.className = "mono";
    area.readOnly = true;
    area.rows = 6;
    area.value = statement;
    container.replaceChildren(label, area);
    container.hidden = false;
    area.focus();
    area.select();
  }

  // The statement history and count of the detail page, read again from the server after a download or
  // a copy issued a statement (the elements named by ids are swapped for the fresh page's).
  function refreshFromServer(ids) {
    return fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(word("server-answered", response.status));
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ids.forEach(function (id) {
          var current = document.getElementById(id);
          var replacement = fresh.getElementById(id);
          if (current && replacement) current.replaceWith(document.importNode(replacement, true));
        });
      });
  }

  function filenameOf(response) {
    var match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return match ? match[1] : "software_statement.txt";
  }

  // "Download software statement": the same POST from script, saved as the same file, then the statement
  // history shows the new statement without a reload. Without script the form downloads as usual.
  document.querySelectorAll("[data-download-refreshes]").forEach(function (form) {
    var ids = form.getAttribute("data-download-refreshes").split(" ");
    var status = document.getElementById(form.getAttribute("data-status"));
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            // Nothing was issued: let the server's own page say why.
            HTMLFormElement.prototype.submit.call(form);
            return null;
          }
          var name = filenameOf(response);
          return response.blob().then(function (blob) {
            var link = document.createElement("a");
            link.href = URL.createObjectURL(blob);
            link.download = name;
            document.body.appendChild(link);
            link.click();
            link.remove();
            window.setTimeout(function () {
              URL.revokeObjectURL(link.href);
            }, 10000);
            return refreshFromServer(ids);
          });
        })
        .catch(function (error) {
          if (status) showStatus(status, "error", word("download-failed") + " " + error.message);
        })
        .finally(function () {
          button.disabled = false;
        });
    });
  });

  // "Copy": issues a new statement through the same POST as the download form, then puts it on the
  // clipboard. When the clipboard is not available it shows the statement, selected, for a manual copy.
  document.querySelectorAll("[data-copy-statement]").forEach(function (button) {
    var form = document.getElementById(button.getAttribute("data-copy-statement"));
    var status = document.getElementById(button.getAttribute("data-status"));
    var output = document.getElementById(button.getAttribute("data-output"));
    if (!form || !status || !output) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      showStatus(status, "info", word("issuing"));
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error(word("server-answered", response.status));
          return response.text();
        })
        .then(function (text) {
          var statement = text.trim();
          var jti = jtiOf(statement);
          var done = jti ? word("copied-jti", jti) : word("copied");
          if (!navigator.clipboard || !window.isSecureContext) {
            showForManualCopy(output, statement);
            showStatus(status, "warning", word("no-clipboard"));
            return refreshFromServer(["statement-history", "statement-count"]);
          }
          return navigator.clipboard.writeText(statement).then(
            function () {
              output.hidden = true;
              showStatus(status, "success", done + " " + word("history-lists"));
              return refreshFromServer(["statement-history", "statement-count"]);
            },
            function () {
              showForManualCopy(output, statement);
              showStatus(status, "warning", word("copy-refused"));
              return refreshFromServer(["statement-history", "statement-count"]);
            }
          );
        })
        .catch(function (error) {
          showStatus(status, "error", word("issue-failed") + " " + error.message);
        })
        .finally(function () {
          button.disabled = false;
        });
    });
  });

  // Programmer-level create form: the channel checkboxes matter only for "chosen channels".
  document.querySelectorAll("[data-coverage]").forEach(function (fieldset) {
    var radios = fieldset.querySelectorAll('input[name="coverage"]');
    var subset = document.getElementById(fieldset.getAttribute("data-coverage"));
    if (!subset) return;
    function sync() {
      var chosen = fieldset.querySelector('input[name="coverage"]:checked');
      subset.hidden = chosen ? chosen.value === "all" : false;
    }
    radios.forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  });

  // Review page: "Push changes" stays disabled until the configuration description has text (the
  // field is required too, and the server checks it); the note beside the button says why.
  document.querySelectorAll("[data-requires]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-requires"));
    var note = document.getElementById(button.getAttribute("data-requires-note"));
    if (!field) return;
    function sync() {
      button.disabled = field.value.trim() === "";
      if (note) note.hidden = !button.disabled;
    }
    field.addEventListener("input", sync);
    sync();
  });
})();
