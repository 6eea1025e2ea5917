// The report form's map: a tap or click on it fills the latitude and longitude fields
// (which can also be typed: the form works without this script).
(function () {
  'use strict';
  var svg = document.querySelector('svg.pick');
  var lat = document.getElementById('lat');
  var lon = document.getElementById('long');
  if (!svg || !lat || !lon) return;
  var box = {
    minLon: parseFloat(svg.dataset.minLon), minLat: parseFloat(svg.dataset.minLat),
    maxLon: parseFloat(svg.dataset.maxLon), maxLat: parseFloat(svg.dataset.maxLat)
  };
  var pin = svg.querySelector('.pin');
  var view = svg.viewBox.baseVal;
  function place(x, y) {
    pin.setAttribute('cx', x.toFixed(1));
    pin.setAttribute('cy', y.toFixed(1));
  }
  svg.addEventListener('click', function (ev) {
    var r = svg.getBoundingClientRect();
    var x = (ev.clientX - r.left) / r.width * view.width;
    var y = (ev.clientY - r.top) / r.height * view.height;
    lon.value = (box.minLon + x / view.width * (box.maxLon - box.minLon)).toFixed(6);
    lat.value = (box.maxLat - y / view.height * (box.maxLat - box.minLat)).toFixed(6);
    place(x, y);
  });
})();
