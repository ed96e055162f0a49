// Live refresh, the only script: reload the page when the collector's next round is due
// (the server says when in data-refresh-s). Pages work the same without it.
(function () {
  var seconds = parseInt(document.body.getAttribute("data-refresh-s") || "0", 10);
  if (seconds > 0) {
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
