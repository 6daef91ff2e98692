/* custlens pages: draw the Plotly figures, update the rule builder's count as one types,
   follow an import job. Everything works without this file; it only adds the live parts.
   Served from /static (the pages' CSP allows scripts from this site only). */
(function () {
  "use strict";

  function drawCharts() {
    if (!window.Plotly) { return; }
    document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
      var fig = JSON.parse(el.getAttribute("data-figure"));
      var layout = fig.layout || {};
      layout.autosize = true;
      if (layout.height) { el.style.height = layout.height + "px"; }
      window.Plotly.newPlot(el, fig.data || [], layout, {responsive: true, displaylogo: false, displayModeBar: false});
    });
  }

  function replaceFrom(html, id) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
    var here = document.getElementById(id);
    if (fresh && here) { here.replaceWith(fresh); }
    return fresh;
  }

  function liveRule() {
    var form = document.getElementById("rule-form");
    if (!form) { return; }
    var box = form.querySelector("textarea");
    var timer = null;
    var asked = 0;
    box.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        if (!box.value.trim()) { return; }
        var mine = ++asked;
        window.fetch(form.getAttribute("action"), {method: "POST", body: new FormData(form), credentials: "same-origin"})
          .then(function (response) { return response.text(); })
          .then(function (html) { if (mine === asked) { replaceFrom(html, "rule-result"); } })
          .catch(function () { /* the form still works by submitting it */ });
      }, 400);
    });
  }

  function followJob() {
    var box = document.getElementById("job");
    if (!box || box.getAttribute("data-done") === "true") { return; }
    var poll = function () {
      window.fetch(window.location.pathname, {credentials: "same-origin"})
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var fresh = replaceFrom(html, "job");
          if (fresh && fresh.getAttribute("data-done") !== "true") { window.setTimeout(poll, 1000); }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 1000);
  }

  drawCharts();
  liveRule();
  followJob();
}());
