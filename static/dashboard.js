// The dashboard's charts: drawn with the vendored Apache ECharts from the page's JSON block, never from markup.
// Text reaches the page only through ECharts' canvas (tooltips in richText mode, not HTML), so names cannot run
// as markup and nothing needs an inline style; a click on a bar, slice or point opens the filtered list.
// A chart in a folded section is drawn when the section opens (a hidden box has no size). Long tables are paged.
(function () {
  "use strict";
  var PAGE_ROWS = 15;
  var block = document.getElementById("dashboard-data");
  if (!block) {
    return;
  }
  var data = JSON.parse(block.textContent);
  var lang = document.documentElement.lang === "en" ? "en" : "zh";
  var TEXT = {
    zh: { prev: "上一页", next: "下一页", page: function (p, n, rows) { return "第 " + p + "/" + n + " 页，共 " + rows + " 行"; } },
    en: { prev: "Previous", next: "Next", page: function (p, n, rows) { return "Page " + p + " of " + n + ", " + rows + " rows"; } }
  }[lang];

  function option(chart) {
    var tooltip = { renderMode: "richText", trigger: chart.kind === "pie" ? "item" : "axis" };
    if (chart.kind === "pie") {
      return {
        tooltip: tooltip,
        legend: { type: "scroll", bottom: 0 },
        series: [{
          type: "pie", radius: ["30%", "65%"], name: chart.series[0].name,
          data: chart.labels.map(function (label, i) { return { name: label, value: chart.series[0].data[i] }; })
        }]
      };
    }
    if (chart.kind === "hbar") {  // a ranking: the first label on top, names on the left in full
      return {
        tooltip: tooltip,
        legend: { top: 0 },
        grid: { left: 8, right: 24, top: 28, bottom: 8, containLabel: true },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", inverse: true, data: chart.labels, axisLabel: { interval: 0 } },
        color: ["#c62828", "#90a4ae"],
        series: chart.series.map(function (s) { return { type: "bar", name: s.name, data: s.data }; })
      };
    }
    return {
      tooltip: tooltip,
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: chart.labels, axisLabel: { rotate: chart.labels.length > 8 ? 40 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: chart.series.map(function (s) {
        return { type: chart.kind, name: s.name, data: s.data, stack: chart.stack ? "total" : undefined };
      })
    };
  }

  var drawn = [];

  function draw(chart) {
    var box = document.getElementById("chart-" + chart.id);
    if (!box || box.dataset.drawn || typeof echarts === "undefined" || !box.offsetWidth) {
      return;
    }
    var instance = echarts.init(box, null, { renderer: "canvas", locale: lang === "en" ? "EN" : "ZH" });
    instance.on("finished", function () { box.dataset.drawn = "1"; });
    instance.setOption(option(chart));
    instance.on("click", function (params) {
      var link = chart.links[params.dataIndex];
      if (link) {
        window.location.assign(link);
      }
    });
    drawn.push(instance);
  }

  function drawVisible() {
    Object.keys(data.sections).forEach(function (key) {
      (data.sections[key].charts || []).forEach(draw);
    });
  }

  // Pages of PAGE_ROWS rows for a long table: the rows stay in the page (and without script all show).
  function page(table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    if (rows.length <= PAGE_ROWS) {
      return;
    }
    var pages = Math.ceil(rows.length / PAGE_ROWS), current = 1;
    var bar = document.createElement("div");
    bar.className = "pager";
    var prev = document.createElement("button"), next = document.createElement("button");
    var status = document.createElement("span");
    prev.type = next.type = "button";
    prev.textContent = TEXT.prev;
    next.textContent = TEXT.next;
    status.setAttribute("aria-live", "polite");
    bar.appendChild(prev);
    bar.appendChild(status);
    bar.appendChild(next);
    (table.parentNode.classList.contains("table-wrap") ? table.parentNode : table).after(bar);
    function show(p) {
      current = Math.min(Math.max(p, 1), pages);
      rows.forEach(function (row, i) { row.hidden = Math.floor(i / PAGE_ROWS) + 1 !== current; });
      prev.disabled = current === 1;
      next.disabled = current === pages;
      status.textContent = TEXT.page(current, pages, rows.length);
    }
    prev.addEventListener("click", function () { show(current - 1); });
    next.addEventListener("click", function () { show(current + 1); });
    show(1);
  }

  document.querySelectorAll(".dashboard-section table.reports").forEach(page);
  document.querySelectorAll("details").forEach(function (fold) {
    fold.addEventListener("toggle", function () {
      if (fold.open) {
        drawVisible();
        drawn.forEach(function (c) { c.resize(); });
      }
    });
  });
  drawVisible();
  window.addEventListener("resize", function () {
    drawn.forEach(function (c) { c.resize(); });
  });
})();
