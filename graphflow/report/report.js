/* graphflow run report: click a node (diagram, table or step chip) to show only its
   messages and model calls; click it again, press Escape or "show all" to see everything.
   Type in the search box to keep only what contains the text. Zoom the diagram with its
   buttons or the + and - keys; "wide" gives it the page's width. */
(function () {
  "use strict";
  var selected = null;
  var query = "";
  var zoom = null;
  var entries = Array.prototype.slice.call(
    document.querySelectorAll("#timeline .entry, #calls .entry"));
  var steps = Array.prototype.slice.call(document.querySelectorAll("#timeline .step"));
  var banner = document.getElementById("filter");
  var bannerText = document.getElementById("filter-text");
  var search = document.getElementById("search");
  var svgNodes = Array.prototype.slice.call(document.querySelectorAll("#diagram g.node"));
  var svg = document.querySelector("#diagram svg");

  function within(node, name) {
    return node === name || node.indexOf(name + "/") === 0;
  }

  function matches(entry) {
    var node = entry.getAttribute("data-node") || "";
    if (selected !== null && !within(node, selected)) { return false; }
    return query === "" || entry.textContent.toLowerCase().indexOf(query) >= 0;
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  function apply() {
    var shown = 0;
    var calls = 0;
    entries.forEach(function (entry) {
      var ok = matches(entry);
      entry.hidden = !ok;
      if (ok && entry.classList.contains("model-call")) { calls += 1; }
      else if (ok) { shown += 1; }
    });
    steps.forEach(function (step) {
      if (selected === null && query === "") { step.hidden = false; return; }
      var ran = query === "" && Array.prototype.some.call(
        step.querySelectorAll(".chip, .callout[data-node]"),
        function (el) { return within(el.getAttribute("data-node") || "", selected); });
      var visible = step.querySelector(".entry:not([hidden])") !== null;
      step.hidden = !(ran || visible);
    });
    svgNodes.forEach(function (g) {
      g.classList.toggle("selected", selected !== null && g.getAttribute("data-node") === selected);
    });
    document.querySelectorAll(".pick").forEach(function (el) {
      el.classList.toggle("selected", selected !== null && el.getAttribute("data-node") === selected);
    });
    if (svg) { svg.classList.toggle("filtering", selected !== null); }
    banner.hidden = selected === null && query === "";
    if (!banner.hidden) {
      var what = [];
      if (selected !== null) { what.push("node " + selected); }
      if (query !== "") { what.push("\u201c" + query + "\u201d"); }
      bannerText.textContent = "Showing " + what.join(", ") + ": " + plural(shown, "message") +
        (calls ? ", " + plural(calls, "model call") : "");
    }
  }

  function toggle(name) {
    selected = selected === name ? null : name;
    apply();
  }

  function setZoom(value) {
    zoom = value;
    if (!svg) { return; }
    if (value === null) {
      svg.style.width = ""; svg.style.maxWidth = ""; svg.style.maxHeight = "";
      return;
    }
    var box = svg.viewBox && svg.viewBox.baseVal;
    var natural = box && box.width ? box.width * 4 / 3 : svg.getBoundingClientRect().width;
    svg.style.maxWidth = "none"; svg.style.maxHeight = "none";
    svg.style.width = Math.round(natural * value) + "px";
  }

  function step(factor) {
    var base = zoom;
    if (base === null && svg) {
      var box = svg.viewBox && svg.viewBox.baseVal;
      var natural = box && box.width ? box.width * 4 / 3 : 1;
      base = svg.getBoundingClientRect().width / natural;
    }
    setZoom(Math.min(8, Math.max(0.2, (base || 1) * factor)));
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
  document.getElementById("show-all").addEventListener("click", function () {
    selected = null; query = ""; search.value = ""; apply();
  });
  search.addEventListener("input", function () {
    query = search.value.trim().toLowerCase();
    apply();
  });
  document.getElementById("zoom-in").addEventListener("click", function () { step(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { step(0.8); });
  document.getElementById("zoom-fit").addEventListener("click", function () { setZoom(null); });
  document.getElementById("zoom-wide").addEventListener("click", function () {
    document.body.classList.toggle("wide");
  });
  document.addEventListener("keydown", function (event) {
    if (event.target === search) {
      if (event.key === "Escape") { search.value = ""; query = ""; apply(); }
      return;
    }
    if (event.key === "Escape") { selected = null; apply(); }
    else if (event.key === "+" || event.key === "=") { step(1.25); }
    else if (event.key === "-") { step(0.8); }
    else if (event.key === "0") { setZoom(null); }
  });
  document.body.setAttribute("data-ready", "1");
})();
