// The waiting room's board keeps itself current: every five seconds it reads the board
// from the API and rewrites the two tables (text only, never markup). Without this script
// the page still shows the board as it was when loaded.
(function () {
  'use strict';
  var board = document.getElementById('board');
  if (!board || !window.fetch) return;
  var agency = board.getAttribute('data-agency');
  var minutes = board.getAttribute('data-minutes');
  var en = document.documentElement.lang === 'en';
  function row(cells, firstClass) {
    var tr = document.createElement('tr');
    cells.forEach(function (text, i) {
      var td = document.createElement('td');
      td.textContent = text;
      if (i === 0 && firstClass) td.className = firstClass;
      tr.appendChild(td);
    });
    return tr;
  }
  function replace(id, rows) {
    var body = document.getElementById(id);
    if (!body) return;
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function refresh() {
    fetch('/api/v1/counters/' + encodeURIComponent(agency) + '/board', { headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) {
        if (!b) return;
        replace('called-body', b.called.map(function (c) { return row([c.label, c.desk || ''], 'ticket-number'); }));
        var none = document.getElementById('called-none');
        if (none) none.hidden = b.called.length > 0;
        replace('lines-body', b.lines.map(function (l) {
          var wait = l.average_wait_minutes === null ? '—' : minutes.replace('#', String(l.average_wait_minutes));
          return row([l.group + ' — ' + (en ? l.name_en : l.name_vi), String(l.waiting), wait]);
        }));
      })
      .catch(function () {});
  }
  setInterval(refresh, 5000);
})();
