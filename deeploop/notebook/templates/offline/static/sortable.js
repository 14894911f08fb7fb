// Click a column header of a table.sortable to sort by it (again to reverse).
// Numbers sort as numbers (a cell's data-sort value wins); "–" sorts last.
(function () {
  function key(cell) {
    var raw = cell.getAttribute("data-sort");
    var text = (raw !== null ? raw : cell.textContent).trim();
    var number = parseFloat(text.replace(/[+,%σ]/g, "").replace("−", "-"));
    return text === "" || text === "–" ? null : (isNaN(number) ? text.toLowerCase() : number);
  }
  function sort(table, column, header) {
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var down = header.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", down ? "descending" : "ascending");
    rows.sort(function (a, b) {
      var x = key(a.cells[column]), y = key(b.cells[column]);
      if (x === null || y === null) { return x === y ? 0 : (x === null ? 1 : -1); }
      var order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0)
                                        : (typeof x === "number" ? -1 : 1);
      return down ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.title = "sort by " + th.textContent.trim();
      th.addEventListener("click", function () { sort(table, column, th); });
    });
  });
})();
