// The dashboard's charts: drawn with the vendored Apache ECharts from the page's JSON block, never from markup.
// Text reaches the page only through ECharts' canvas (tooltips in richText mode, not HTML), so names cannot run
// as markup and nothing needs an inline style; a click on a bar, slice or point opens the filtered list.
(function () {
  "use strict";
  var block = document.getElementById("dashboard-data");
  if (!block || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(block.textContent);

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
    return {
      tooltip: tooltip,
      legend: { type: "scroll", top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 72 },
      xAxis: { type: "category", data: chart.labels, axisLabel: { rotate: chart.labels.length > 8 ? 40 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: chart.series.map(function (s) {
        return { type: chart.kind, name: s.name, data: s.data, stack: chart.stack ? "total" : undefined };
      })
    };
  }

  function draw(chart) {
    var box = document.getElementById("chart-" + chart.id);
    if (!box) {
      return null;
    }
    var drawn = echarts.init(box, null, { renderer: "canvas", locale: document.documentElement.lang === "en" ? "EN" : "ZH" });
    drawn.on("finished", function () { box.dataset.drawn = "1"; });
    drawn.setOption(option(chart));
    drawn.on("click", function (params) {
      var link = chart.links[params.dataIndex];
      if (link) {
        window.location.assign(link);
      }
    });
    return drawn;
  }

  var charts = [];
  Object.keys(data.sections).forEach(function (key) {
    (data.sections[key].charts || []).forEach(function (chart) {
      var drawn = draw(chart);
      if (drawn) {
        charts.push(drawn);
      }
    });
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
