/* graphflow run report: click a node (diagram, table or step chip) to show only its
   messages; click it again, press Escape or "show all" to see everything. */
(function () {
  "use strict";
  var selected = null;
  var entries = Array.prototype.slice.call(document.querySelectorAll("#timeline .entry"));
  var steps = Array.prototype.slice.call(document.querySelectorAll("#timeline .step"));
  var banner = document.getElementById("filter");
  var bannerText = document.getElementById("filter-text");
  var svgNodes = Array.prototype.slice.call(document.querySelectorAll("#diagram g.node"));
  var svg = document.querySelector("#diagram svg");

  function within(node, name) {
    return node === name || node.indexOf(name + "/") === 0;
  }

  function apply(name) {
    selected = name;
    var shown = 0;
    entries.forEach(function (entry) {
      var ok = name === null || within(entry.getAttribute("data-node") || "", name);
      entry.hidden = !ok;
      if (ok) { shown += 1; }
    });
    steps.forEach(function (step) {
      if (name === null) { step.hidden = false; return; }
      var ran = Array.prototype.some.call(step.querySelectorAll(".chip, .callout[data-node]"),
        function (el) { return within(el.getAttribute("data-node") || "", name); });
      var visible = step.querySelector(".entry:not([hidden])") !== null;
      step.hidden = !(ran || visible);
    });
    svgNodes.forEach(function (g) {
      g.classList.toggle("selected", name !== null && g.getAttribute("data-node") === name);
    });
    document.querySelectorAll(".pick").forEach(function (el) {
      el.classList.toggle("selected", name !== null && el.getAttribute("data-node") === name);
    });
    if (svg) { svg.classList.toggle("filtering", name !== null); }
    banner.hidden = name === null;
    if (name !== null) {
      bannerText.textContent = "Showing node " + name + ": " + shown +
        (shown === 1 ? " message" : " messages");
    }
  }

  function toggle(name) {
    apply(selected === name ? null : name);
  }

  svgNodes.forEach(function (g) {
    var title = g.querySelector("title");
    if (!title) { return; }
    g.setAttribute("data-node", title.textContent);
    g.addEventListener("click", function (event) {
      event.preventDefault();
      toggle(g.getAttribute("data-node"));
    });
  });
  document.querySelectorAll(".pick").forEach(function (el) {
    el.addEventListener("click", function () { toggle(el.getAttribute("data-node")); });
  });
  document.getElementById("show-all").addEventListener("click", function () { apply(null); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { apply(null); }
  });
  document.body.setAttribute("data-ready", "1");
})();
