/* The template editor: list the variables (and includes) the body uses while the author types. No dependencies. */
(function () {
  "use strict";

  function chips(names, css) {
    return names
      .map(function (name) {
        var code = document.createElement("code");
        code.className = "pc-chip" + (css ? " " + css : "");
        code.textContent = name;
        return code.outerHTML;
      })
      .join(" ");
  }

  function start() {
    var body = document.getElementById("id_body");
    var panel = document.getElementById("pc-body-variables");
    var form = body && body.form;
    if (!body || !panel || !form || !window.fetch || !window.FormData) {
      return;
    }
    body.parentNode.insertBefore(panel, body.nextSibling);
    panel.hidden = false;
    var timer = null;
    var sequence = 0;

    function update() {
      var mine = ++sequence;
      var data = new FormData();
      data.append("body", body.value);
      data.append("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
      fetch(panel.dataset.url, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : Promise.reject(response.status);
        })
        .then(function (answer) {
          if (mine !== sequence) {
            return;
          }
          if (answer.error) {
            panel.innerHTML = '<span class="pc-body-error"></span>';
            panel.firstChild.textContent = answer.error;
            return;
          }
          var fromProfile = answer.profile_variables;
          var html = answer.variables.length
            ? '<span class="pc-muted">Uses:</span> ' +
              answer.variables
                .map(function (name) {
                  return chips([name], fromProfile.indexOf(name) >= 0 ? "pc-chip-profile" : "");
                })
                .join(" ")
            : '<span class="pc-muted">Uses no variables.</span>';
          if (answer.includes.length) {
            html += ' <span class="pc-muted">Includes:</span> ' + chips(answer.includes, "");
          }
          if (fromProfile.length) {
            html += ' <span class="pc-muted pc-legend">(shaded: a profile supplies it)</span>';
          }
          panel.innerHTML = html;
        })
        .catch(function () {
          /* keep the last answer */
        });
    }

    body.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 300);
    });
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
