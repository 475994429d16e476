/* Live preview: re-render the chosen version shortly after the sample input changes. No dependencies. */
(function () {
  "use strict";

  function start() {
    var form = document.getElementById("preview-form");
    var result = document.getElementById("preview-result");
    var live = document.getElementById("preview-live");
    if (!form || !result || !window.fetch || !window.FormData) {
      return;
    }
    var timer = null;
    var sequence = 0;

    function update() {
      if (!live || !live.checked) {
        return;
      }
      var mine = ++sequence;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Preview-Live": "1" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.ok ? response.text() : Promise.reject(response.status);
        })
        .then(function (html) {
          if (mine === sequence) {
            result.innerHTML = html;
          }
        })
        .catch(function () {
          /* keep the last result; pressing Preview still works */
        });
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 350);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.addEventListener("submit", function () {
      sequence += 1; /* a full submit wins over any answer still on its way */
      window.clearTimeout(timer);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
